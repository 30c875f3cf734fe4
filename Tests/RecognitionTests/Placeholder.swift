// Tests for Recognition arrive with its issue.

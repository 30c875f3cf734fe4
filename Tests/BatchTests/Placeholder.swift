// Tests for Batch arrive with its issue.

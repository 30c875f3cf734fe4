// Tests for Export arrive with its issue.

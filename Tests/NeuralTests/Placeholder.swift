// Tests for Neural arrive with its issue.

// Tests for Training arrive with its issue.

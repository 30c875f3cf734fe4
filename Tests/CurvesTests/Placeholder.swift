// Tests for Curves arrive with its issue.

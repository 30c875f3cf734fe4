// Tests for AudioIO arrive with its issue.

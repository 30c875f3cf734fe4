// Tests for EmotionCore arrive with its issue.

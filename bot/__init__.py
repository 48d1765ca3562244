"""Webhook receiver for codex-review-bot: verify, record, enqueue, answer fast."""

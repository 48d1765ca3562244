"""Celery workers for codex-review-bot: GitHub access, diff engine, model calls, review and fix."""

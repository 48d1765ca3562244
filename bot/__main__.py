"""``python -m bot`` is ``codex-bot``."""

from bot.cli import main

main()

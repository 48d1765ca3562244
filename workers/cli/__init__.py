"""The worker-side ``codex-bot`` subcommands: ``review``, ``review-diff``, ``doctor``.

``bot.cli`` imports these only when one is invoked, so the receiver never loads them.
"""

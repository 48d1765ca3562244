"""Spend and quality over time, from what the bot records: ``codex-bot stats``.

``records`` keeps, per repository and month, the reviews posted, their
findings by priority and the suggestions they carried, and per pull request
each suggestion's place and text; ``applied`` decides (pure) whether a later
head carries a suggestion; ``report`` puts these beside the model ledger's
tokens and dollars per repository and month.
"""

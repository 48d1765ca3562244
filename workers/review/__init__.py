"""The automatic review.

Pure core, no I/O: ``config`` (``.github/codex-review.yml``), ``guidelines``
(``AGENTS.md`` review sections), ``fingerprint`` (finding identity across
pushes), ``marker`` (hidden markers in the bot's reviews and comments),
``select`` (skip, scope, inline versus body, check conclusion) and ``render``
(comment, review body and check-run output). The review task builds on them.
"""

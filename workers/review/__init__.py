"""The automatic review.

Pure core, no I/O: ``config`` (``.github/codex-review.yml``), ``guidelines``
(``AGENTS.md`` review sections), ``fingerprint`` (finding identity across
pushes), ``marker`` (hidden markers in the bot's reviews and comments),
``select`` (skip, scope, inline versus body, check conclusion), ``summary``
(what a run reviewed and left out) and ``render`` (comment, review body and
check-run output). The run builds on them: ``flow`` (the steps), ``inputs``
(reads from GitHub), ``segments`` (the segment reviewer), ``checkrun``,
``records`` (Redis bookkeeping), ``budget``, ``outcome`` (values) and ``task``
(the worker's entry point).
"""

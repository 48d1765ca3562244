"""What the receiver and the worker share: job records, the /codex grammar, logging, settings.

Light by contract: nothing here imports ``bot`` or ``workers``, so the receiver
can use it without loading any worker code.
"""

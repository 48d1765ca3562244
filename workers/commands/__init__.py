"""``/codex`` commands in PR comments: ``fix``, ``review`` and ``help``.

``dispatch.handle_command`` checks a command and routes it to ``help``,
``review`` (queues a review job that answers when done) or ``fix`` (which
hands a fork it cannot push to over to ``suggest``). ``context`` holds what
they share; ``wiring`` connects them to the worker's clients.

Pure core: ``schema`` (model output), ``policy`` (who may run what), ``target``
(what to fix), ``relevance`` (what a request names and points at),
``selection`` (which files are shown and editable, and why the others are
not), ``modes`` (which files a fix may rewrite), ``apply`` (edits to files),
``prompt`` and ``messages`` (text in and out). ``outsiders`` keeps the one
answer per outsider, PR and hour in Redis.
"""

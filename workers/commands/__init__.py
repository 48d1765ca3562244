"""``/codex`` commands in PR comments: ``fix``, ``review`` and ``help``.

Pure core: ``schema`` (model output), ``policy`` (who may run what), ``target``
(what to fix), ``apply`` (edits to files), ``prompt`` and ``messages`` (text in
and out). ``service`` is the only module that does I/O, through injected clients.
"""

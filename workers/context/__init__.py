"""Related code for a segment's prompt: definitions its changed lines use, callers of the
functions it changes, tests that exercise them; pure over a ``view.RepoView``."""

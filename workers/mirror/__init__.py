"""A local mirror of each reviewed repository: bare, partial clones on the worker's disk.

``store.Mirror`` fetches and evicts; ``view.GitView`` reads one commit of a
mirror and ``view.DirView`` a directory checkout, both as
``workers.context.view.RepoView``; ``git`` runs git with the token in the
environment only and holds the exception tree.
"""

from workers.mirror.git import AuthRefused, GitFailed, GitMissing, MirrorError, TooLarge
from workers.mirror.store import InstallationTokens, Mirror, RepoMirrors, TokenSource
from workers.mirror.view import DirView, GitView

__all__ = [
    "AuthRefused",
    "DirView",
    "GitFailed",
    "GitMissing",
    "GitView",
    "InstallationTokens",
    "Mirror",
    "MirrorError",
    "RepoMirrors",
    "TokenSource",
    "TooLarge",
]

"""The GitHub boundary: App and personal-token auth (``auth``), the installation client
(``client``), value objects (``models``), errors (``errors``), write pacing (``pacing``)
and links to GitHub's web pages (``links``)."""

from .auth import REVIEW_PERMISSIONS, GitHubApp, GitHubToken, SafeRetry, retry_policy
from .client import GitHubClient
from .errors import (
    AuthError,
    BranchMoved,
    GitHubError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
    Unprocessable,
)
from .models import DraftComment
from .pacing import LocalPacer, Pacer, RedisPacer

__all__ = [
    "REVIEW_PERMISSIONS",
    "AuthError",
    "BranchMoved",
    "DraftComment",
    "GitHubApp",
    "GitHubClient",
    "GitHubError",
    "GitHubToken",
    "LocalPacer",
    "NotFound",
    "Pacer",
    "PermissionDenied",
    "RateLimited",
    "RedisPacer",
    "SafeRetry",
    "ServerError",
    "TransportError",
    "Unprocessable",
    "retry_policy",
]

"""Whether a person has write access to the repository: the one decision ``/codex``
commands and the outsider policy of automatic reviews both use.

``author_association`` refuses the obvious cases without a call (people with no
relation to the repository) and never grants on its own (``COLLABORATOR`` and
``MEMBER`` cover read-only roles too); the collaborator permission endpoint decides
the rest (``policy``).
"""

from __future__ import annotations

from typing import Protocol

from workers.commands import policy
from workers.github.errors import NotFound


class PermissionReader(Protocol):
    def get_permission(self, username: str) -> str: ...


def has_write_access(github: PermissionReader, login: str, association: str | None) -> bool:
    """Write, maintain or admin on the repository; one API call unless the association
    already rules it out."""
    if policy.precheck(association) == "deny":
        return False
    try:
        permission = github.get_permission(login)
    except NotFound:
        return False
    return policy.permission_allows(permission)

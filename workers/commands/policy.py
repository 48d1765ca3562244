"""Who may run a command, and which comments are ignored: pure decisions over strings.

The permission endpoint is the authority; ``author_association`` only lets us
refuse the obvious cases (people with no relation to the repository) without
an API call. It never grants anything on its own: ``COLLABORATOR`` and
``MEMBER`` cover read-only and triage roles too.
"""

from __future__ import annotations

from typing import Final, Literal

#: Associations that can never carry write access to the repository.
_NO_ACCESS: Final = frozenset({"NONE", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR", "MANNEQUIN"})
#: ``permission`` is the legacy field (maintain reads as write); ``role_name`` the modern one.
_WRITE_PERMISSIONS: Final = frozenset({"admin", "write", "maintain"})

#: Commands that act on the repository or spend model budget.
PRIVILEGED: Final = frozenset({"fix", "review"})

Precheck = Literal["deny", "check"]


def precheck(author_association: str | None) -> Precheck:
    """``deny`` when the association alone rules out write access, else ``check`` with the API."""
    if author_association is None:
        return "check"
    return "deny" if author_association.upper() in _NO_ACCESS else "check"


def permission_allows(permission: str | None, role_name: str | None = None) -> bool:
    """Whether the collaborator permission answer grants write, maintain or admin."""
    return any(
        value is not None and value.lower() in _WRITE_PERMISSIONS
        for value in (permission, role_name)
    )


def is_automated(login: str, user_type: str | None, app_login: str) -> bool:
    """Comments by bots, and by this App itself, never trigger anything.

    ``app_login`` is the App's bot account (``<slug>[bot]``). The comparison is
    case-insensitive because GitHub logins are.
    """
    lowered = login.lower()
    return (
        (user_type or "").lower() == "bot"
        or lowered.endswith("[bot]")
        or lowered == app_login.lower()
    )

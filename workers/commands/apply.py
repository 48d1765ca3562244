"""Apply the model's edits to the head files: all of them cleanly, or none.

Checks, in order, before anything is committed:

1. Path policy: nothing under ``.github/workflows/`` (GitHub refuses such
   pushes without the ``workflows`` permission, and a CI change is never the
   bot's to make); only paths in the target's allowed list; no unsafe paths.
   New text that holds a secret-looking string, a ``/codex`` line or invisible
   and bidi characters is refused too (``workers.sanitize.sanitize_code``).
2. Bounds: at most ``Limits.max_files`` files and ``Limits.max_bytes`` of new
   content.
3. Each quote is found in the current text of its file (after earlier edits to
   the same file) and replaced as whole lines; an ambiguous or missing quote
   rejects the fix.
4. Python files that parsed before still parse.

The result is either ``Applied`` (the new contents) or ``Rejected`` (why).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from workers import edits
from workers.commands.relevance import is_safe_path
from workers.commands.schema import FixProposal, ProposedEdit
from workers.sanitize import sanitize_code

WORKFLOWS_DIR: Final = ".github/workflows/"


@dataclass(frozen=True, slots=True)
class Limits:
    max_files: int = 10
    max_bytes: int = 1_000_000


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class Applied:
    changes: tuple[FileChange, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(change.path for change in self.changes)


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why nothing is committed. ``workflow_paths`` is set when workflows were the reason."""

    problems: tuple[str, ...]
    workflow_paths: tuple[str, ...] = ()


def is_workflow_path(path: str) -> bool:
    # Compared case-insensitively: a case-insensitive checkout would run it all the same.
    lowered = path.lower()
    while lowered.startswith(("./", "/")):
        lowered = lowered[1:].lstrip("/") if lowered.startswith("/") else lowered[2:]
    return lowered.startswith(WORKFLOWS_DIR)


def apply_proposal(
    proposal: FixProposal,
    files: Mapping[str, str | None],
    allowed: frozenset[str],
    limits: Limits = Limits(),
) -> Applied | Rejected:
    """Apply every edit of ``proposal`` to ``files`` (head contents; ``None`` = absent)."""
    workflows = tuple(dict.fromkeys(e.path for e in proposal.edits if is_workflow_path(e.path)))
    if workflows:
        return Rejected(problems=("the change touches CI workflows",), workflow_paths=workflows)

    problems: list[str] = []
    for edit in proposal.edits:
        if edit.replacement and sanitize_code(edit.replacement) is None:
            problems.append(
                f"the change to `{edit.path[:80]}` adds text that looks like a secret, "
                "a command or hidden characters"
            )
        elif not is_safe_path(edit.path):
            problems.append(f"`{edit.path[:80]}` is not a valid repository path")
        elif edit.path not in allowed:
            problems.append(f"`{edit.path}` is outside the files this fix may change")
        elif files.get(edit.path) is None:
            problems.append(f"`{edit.path}` does not exist at the PR head")
    if problems:
        return Rejected(problems=tuple(dict.fromkeys(problems)))

    touched = tuple(dict.fromkeys(edit.path for edit in proposal.edits))
    if len(touched) > limits.max_files:
        return Rejected(
            problems=(f"the fix would change {len(touched)} files (at most {limits.max_files})",)
        )

    changes: list[FileChange] = []
    for path in touched:
        before = files[path]
        assert before is not None  # checked above
        after = before
        for edit in (e for e in proposal.edits if e.path == path):
            result = apply_edit(after, edit)
            if isinstance(result, EditFailure):
                problems.append(f"`{path}`: {result.reason}")
                break
            after = result
        else:
            if (
                edits.is_python(path)
                and edits.python_parses(before)
                and not edits.python_parses(after)
            ):
                problems.append(f"`{path}` would no longer be valid Python")
            elif after != before:
                changes.append(FileChange(path=path, before=before, after=after))
    if problems:
        return Rejected(problems=tuple(problems))
    if not changes:
        return Rejected(problems=("the proposed edits change nothing",))
    size = sum(len(change.after.encode("utf-8")) for change in changes)
    if size > limits.max_bytes:
        return Rejected(
            problems=(f"the changed files total {size} bytes (at most {limits.max_bytes})",)
        )
    return Applied(changes=tuple(changes))


@dataclass(frozen=True, slots=True)
class EditFailure:
    reason: str


def apply_edit(text: str, edit: ProposedEdit) -> str | EditFailure:
    """``text`` with ``edit``'s quoted lines replaced, or why that cannot be done.

    The quote must match whole consecutive lines, exactly or up to runs of
    whitespace (``workers.edits.locate`` without its fuzzy step); when it
    matches in several places the one nearest ``line_hint`` wins, and without
    a hint the match must be unique. The file's line endings and final newline
    are kept (``workers.edits.replace_lines``).
    """
    span = locate_edit(text, edit)
    if isinstance(span, EditFailure):
        return span
    replacement = edit.replacement.replace("\r\n", "\n")
    return edits.replace_lines(text, span[0], span[1], replacement.rstrip("\n"))


def locate_edit(text: str, edit: ProposedEdit) -> tuple[int, int] | EditFailure:
    """The 1-based first and last line of ``text`` that ``edit`` replaces."""
    if not edits.quote_lines(edit.quote):
        return EditFailure("an edit quotes only blank lines")
    lines = edits.split_lines(text)
    if edit.line_hint is not None:
        match = edits.locate(lines, edit.quote, edit.line_hint, fuzzy=False)
    else:
        # No hint: the nearest match to either end of the file must be the same one.
        match = edits.locate(lines, edit.quote, 0, fuzzy=False)
        last = edits.locate(lines, edit.quote, len(lines) + 1, fuzzy=False)
        if match is not None and last is not None and last.start != match.start:
            return EditFailure("the quoted lines occur more than once")
    if match is None:
        first = edits.quote_lines(edit.quote)[0].strip()[:60]
        return EditFailure(f"the quoted lines (starting `{first}`) are not in the file")
    return (match.start, match.end)

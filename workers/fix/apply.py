"""Apply the model's edits to the head files: all of them cleanly, or none.

Checks, in order, before anything is committed:

1. Path policy: nothing under ``.github/workflows/`` (GitHub refuses such
   pushes without the ``workflows`` permission, and a CI change is never the
   bot's to make); only paths in the target's allowed list; no unsafe paths.
2. Bounds: at most ``Limits.max_files`` files and ``Limits.max_bytes`` of new
   content.
3. Each quote is found in the current text of its file (after earlier edits to
   the same file) and replaced as whole lines; an ambiguous or missing quote
   rejects the fix.
4. Python files that parsed before still parse.

The result is either ``Applied`` (the new contents) or ``Rejected`` (why).
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from workers.fix.schema import FixProposal, ProposedEdit
from workers.fix.target import is_safe_path

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
        if not is_safe_path(edit.path):
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
            if path.endswith(".py") and _parses(before) and not _parses(after):
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

    The quote must match whole consecutive lines, exactly or up to trailing
    whitespace and indentation width; when it matches in several places the
    one nearest ``line_hint`` wins, and without a hint the match must be
    unique. The file's line endings and final newline are kept.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    final_newline = bool(lines) and lines[-1] == ""
    if final_newline:
        lines.pop()
    quote = edit.quote.replace("\r\n", "\n").rstrip("\n").split("\n")
    start = _locate(lines, quote, edit.line_hint)
    if isinstance(start, EditFailure):
        return start
    replacement = edit.replacement.replace("\r\n", "\n")
    new_lines = [] if replacement == "" else replacement.rstrip("\n").split("\n")
    lines[start : start + len(quote)] = new_lines
    return newline.join(lines) + (newline if final_newline and lines else "")


def locate_edit(text: str, edit: ProposedEdit) -> tuple[int, int] | EditFailure:
    """The 1-based first and last line of ``text`` that ``edit`` replaces."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    quote = edit.quote.replace("\r\n", "\n").rstrip("\n").split("\n")
    start = _locate(lines, quote, edit.line_hint)
    if isinstance(start, EditFailure):
        return start
    return (start + 1, start + len(quote))


def _locate(lines: list[str], quote: list[str], hint: int | None) -> int | EditFailure:
    if not any(line.strip() for line in quote):
        return EditFailure("an edit quotes only blank lines")
    for normalise in (_exact, _loose):
        wanted = [normalise(line) for line in quote]
        have = [normalise(line) for line in lines]
        size = len(wanted)
        starts = [i for i in range(len(have) - size + 1) if have[i : i + size] == wanted]
        if not starts:
            continue
        if len(starts) == 1:
            return starts[0]
        if hint is None:
            return EditFailure(f"the quoted lines occur {len(starts)} times")
        return min(starts, key=lambda i: (abs(i + 1 - hint), i))
    first = quote[0].strip()[:60]
    return EditFailure(f"the quoted lines (starting `{first}`) are not in the file")


def _exact(line: str) -> str:
    return line


def _loose(line: str) -> str:
    return " ".join(line.split())


def _parses(source: str) -> bool:
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences warn at compile time; they are not our concern here.
            warnings.simplefilter("ignore")
            ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True

"""What a ``/codex fix`` is about: pure selection from comments already read.

Two shapes of request:

* In a review thread: the thread's file, line range and diff hunk, plus the
  bot's finding when the thread starts with one of the bot's comments. The
  requester's text, if any, refines it.
* In the PR conversation: with no text, the bot's open P0 and P1 findings;
  with text, what the text asks, limited to the files the PR changes plus any
  repository paths the text names explicitly.

The result lists the only paths the model may edit; ``workers.commands.apply``
enforces that list. Comments are ``workers.github.models.ReviewComment`` values.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Self

from workers.findings import Finding
from workers.github.models import ReviewComment

#: Findings at or below this priority number are the ones a bare ``/codex fix`` addresses.
FIX_PRIORITY_MAX: Final = 1
MAX_NAMED_PATHS: Final = 10

_PATH_RE: Final = re.compile(
    r"(?<![\w/.@:-])((?:[\w.-]+/)*[\w-][\w.-]*\.[A-Za-z0-9]{1,10})(?![\w/])"
)
_WORD_PATH_RE: Final = re.compile(r"(?<![\w/.@:-])((?:[\w.-]+/)+[\w.-]+)(?![\w/])")


def line_range(comment: ReviewComment) -> tuple[int, int] | None:
    """The new-file lines ``comment`` is on; an outdated comment (``line`` is
    ``None``: its lines left the diff) keeps the lines it was written on."""
    if comment.line is not None:
        start = comment.start_line
        end: int | None = comment.line
    else:
        start, end = comment.original_start_line, comment.original_line
    if end is None:
        return None
    return (start if start is not None else end, end)


@dataclass(frozen=True, slots=True)
class ThreadContext:
    """The review thread a command was written in."""

    path: str
    line_range: tuple[int, int] | None
    diff_hunk: str
    finding: Finding | None


@dataclass(frozen=True, slots=True)
class FixTarget:
    """What to fix. ``paths`` are the files the model may edit, in prompt order."""

    instruction: str
    paths: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    thread: ThreadContext | None = None

    @classmethod
    def for_thread(
        cls,
        comment: ReviewComment,
        root: ReviewComment | None,
        root_finding: Finding | None,
        instruction: str,
    ) -> Self:
        """A fix asked for inside a review thread: the thread's file and lines.

        ``root`` is the thread's first comment (``None`` when ``comment`` is it).
        The line range comes from the root, which is the comment anchored to
        the code; replies carry the same anchor.
        """
        anchor = root or comment
        thread = ThreadContext(
            path=anchor.path,
            line_range=line_range(anchor),
            diff_hunk=anchor.diff_hunk,
            finding=root_finding,
        )
        findings = (root_finding,) if root_finding is not None else ()
        return cls(
            instruction=instruction.strip(), paths=(anchor.path,), findings=findings, thread=thread
        )

    @classmethod
    def for_conversation(
        cls,
        instruction: str,
        pr_files: Sequence[str],
        open_findings: Sequence[Finding],
        named_existing: Sequence[str] = (),
    ) -> Self | None:
        """A fix asked for in the PR conversation; ``None`` when there is nothing to do.

        With no text the target is the open findings and their files; with
        text it is the PR's files plus ``named_existing`` (paths the text names
        that exist at the head, see ``named_paths``).
        """
        text = instruction.strip()
        if not text:
            if not open_findings:
                return None
            paths = _unique(finding.path for finding in open_findings)
            return cls(instruction="", paths=paths, findings=tuple(open_findings))
        return cls(instruction=text, paths=_unique([*pr_files, *named_existing]))


def open_findings(
    comments: Sequence[ReviewComment],
    findings: Mapping[int, Finding],
    answered_threads: Iterable[int] = (),
) -> tuple[Finding, ...]:
    """The bot's open P0/P1 findings, most severe first.

    ``findings`` maps a bot comment id to the finding its marker carries.
    A finding is open when its comment still sits on the diff (not outdated)
    and no earlier fix answered its thread (``answered_threads``).
    """
    done = set(answered_threads)
    by_id = {comment.id: comment for comment in comments}
    selected = [
        (finding.priority, comment_id, finding)
        for comment_id, finding in findings.items()
        if finding.priority <= FIX_PRIORITY_MAX
        and comment_id in by_id
        and by_id[comment_id].in_reply_to_id is None
        and by_id[comment_id].line is not None
        and comment_id not in done
    ]
    selected.sort(key=lambda item: (item[0], item[1]))
    return tuple(finding for _, _, finding in selected)


def named_paths(text: str, known: Iterable[str] = ()) -> tuple[str, ...]:
    """Repository paths the requester's text names that are not in ``known``.

    Only candidates: the caller keeps those that exist at the head. URLs,
    mentions, absolute paths and anything climbing out with ``..`` are dropped.
    """
    known_set = set(known)
    cleaned = re.sub(r"https?://\S+", " ", text).replace("`", " ")
    found: list[str] = []
    for regex in (_PATH_RE, _WORD_PATH_RE):
        for match in regex.finditer(cleaned):
            candidate = match.group(1).rstrip(".")
            if not is_safe_path(candidate) or candidate in known_set or candidate in found:
                continue
            found.append(candidate)
    return tuple(found[:MAX_NAMED_PATHS])


def is_safe_path(path: str) -> bool:
    """A relative, normalised repository path with no ``..`` and no empty parts."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    parts = path.split("/")
    return all(part not in ("", ".", "..") for part in parts) and posixpath.normpath(path) == path


def _unique(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(paths))

"""What a ``/codex fix`` is about: pure selection from comments already read.

Two shapes of request:

* In a review thread: the thread's file, line range and diff hunk, plus the
  bot's finding when the thread starts with one of the bot's comments. The
  requester's text, if any, refines it.
* In the PR conversation: with no text, the bot's open P0 and P1 findings;
  with text, what the text asks, limited to the files the PR changes plus any
  repository paths the text names explicitly.

The result lists the only paths the model may edit; ``workers.commands.apply``
enforces that list.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Self

from workers.findings import Finding

#: Findings at or below this priority number are the ones a bare ``/codex fix`` addresses.
FIX_PRIORITY_MAX: Final = 1
MAX_NAMED_PATHS: Final = 10

_PATH_RE: Final = re.compile(
    r"(?<![\w/.@:-])((?:[\w.-]+/)*[\w-][\w.-]*\.[A-Za-z0-9]{1,10})(?![\w/])"
)
_WORD_PATH_RE: Final = re.compile(r"(?<![\w/.@:-])((?:[\w.-]+/)+[\w.-]+)(?![\w/])")


@dataclass(frozen=True, slots=True)
class ReviewComment:
    """The fields of a pull request review comment that target selection reads.

    ``line``/``start_line`` are ``None`` when the comment is outdated (its
    lines left the diff); ``original_*`` keep the lines it was written on.
    """

    id: int
    path: str
    line: int | None
    start_line: int | None
    original_line: int | None
    original_start_line: int | None
    side: str
    diff_hunk: str
    in_reply_to_id: int | None
    author_login: str
    body: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from GitHub's review comment JSON."""
        user = data.get("user") or {}
        return cls(
            id=int(data["id"]),
            path=str(data["path"]),
            line=_int_or_none(data.get("line")),
            start_line=_int_or_none(data.get("start_line")),
            original_line=_int_or_none(data.get("original_line")),
            original_start_line=_int_or_none(data.get("original_start_line")),
            side=str(data.get("side") or "RIGHT"),
            diff_hunk=str(data.get("diff_hunk") or ""),
            in_reply_to_id=_int_or_none(data.get("in_reply_to_id")),
            author_login=str(user.get("login") or ""),
            body=str(data.get("body") or ""),
        )

    @property
    def thread_id(self) -> int:
        """The id of the comment that starts this comment's thread."""
        return self.in_reply_to_id if self.in_reply_to_id is not None else self.id

    @property
    def outdated(self) -> bool:
        return self.line is None

    @property
    def line_range(self) -> tuple[int, int] | None:
        end = self.line if self.line is not None else self.original_line
        if end is None:
            return None
        start = self.start_line if self.line is not None else self.original_start_line
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
            line_range=anchor.line_range,
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
        and not by_id[comment_id].outdated
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


def _int_or_none(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    return int(value) if isinstance(value, int | str) else None

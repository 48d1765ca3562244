"""What a ``/codex fix`` is about: pure selection from comments already read.

Two shapes of request:

* In a review thread: the thread's file, line range and diff hunk, plus the
  bot's finding when the thread starts with one of the bot's comments. The
  requester's text, if any, refines it.
* In the PR conversation: with no text, the bot's open P0 and P1 findings and
  their files; with text, the PR's files ranked by relevance
  (``workers.commands.relevance``): the paths the text names first, then the
  files its words point at, then the rest (which ``workers.commands.selection``
  orders by size). Paths the text names outside the PR are kept apart for the
  caller to look up at the head.

Which of these files are shown, and so may be edited, is decided by
``workers.commands.selection``; ``workers.commands.apply`` enforces it.
Comments are ``workers.github.models.ReviewComment`` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Self

from workers.commands.relevance import is_safe_path, pointed_at, resolve_names
from workers.findings import Finding
from workers.github.models import ReviewComment

__all__ = ["FIX_PRIORITY_MAX", "FixTarget", "ThreadContext", "is_safe_path", "open_findings"]

#: Findings at or below this priority number are the ones a bare ``/codex fix`` addresses.
FIX_PRIORITY_MAX: Final = 1


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
    """What to fix, and the candidate files by relevance.

    ``named`` (the thread's file, the findings' files, the paths the text
    names) are shown first and whole when under the per-file cap; then
    ``pointed`` (the text's words point at them, strongest first); then
    ``others``. ``elsewhere`` are paths the text names outside the PR, not yet
    looked up at the head.
    """

    instruction: str
    named: tuple[str, ...] = ()
    pointed: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    thread: ThreadContext | None = None
    elsewhere: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        """Every candidate in relevance order (``others`` as given)."""
        return (*self.named, *self.pointed, *self.others)

    def with_found(self, found: Iterable[str]) -> FixTarget:
        """``found`` (paths of ``elsewhere`` that exist at the head) become named."""
        present = set(found)
        return FixTarget(
            instruction=self.instruction,
            named=_unique([*self.named, *(p for p in self.elsewhere if p in present)]),
            pointed=self.pointed,
            others=self.others,
            findings=self.findings,
            thread=self.thread,
            elsewhere=tuple(p for p in self.elsewhere if p not in present),
        )

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
            instruction=instruction.strip(), named=(anchor.path,), findings=findings, thread=thread
        )

    @classmethod
    def for_conversation(
        cls,
        instruction: str,
        pr_files: Sequence[str],
        open_findings: Sequence[Finding],
        patches: Mapping[str, str | None] | None = None,
    ) -> Self | None:
        """A fix asked for in the PR conversation; ``None`` when there is nothing to do.

        With no text the target is the open findings and their files. With
        text it is every PR file, ranked: named, pointed at (a suffix several
        files share first, then by the words, using ``patches``, each PR file's
        patch), then the rest.
        """
        text = instruction.strip()
        if not text:
            if not open_findings:
                return None
            paths = _unique(finding.path for finding in open_findings)
            return cls(instruction="", named=paths, findings=tuple(open_findings))
        names = resolve_names(text, pr_files)
        words = pointed_at(text, patches or {}, exclude=names.in_pr)
        pointed = _unique([*names.ambiguous, *words])
        chosen = {*names.in_pr, *pointed}
        return cls(
            instruction=text,
            named=names.in_pr,
            pointed=pointed,
            others=tuple(path for path in pr_files if path not in chosen),
            elsewhere=names.elsewhere,
        )


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


def _unique(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(paths))

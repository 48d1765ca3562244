"""Every text the command path posts or commits, rendered from plain values.

Replies end with a hidden marker naming the comment they answer, so
``workers.commands.dispatch`` can tell that a command was already answered (a
comment replayed after its job's record expired) by reading the thread. Commit
messages carry the same identity in a ``Codex-Request:`` trailer, so the
branch history names the request each fix commit answers.

Model text reaches these functions only after ``workers.sanitize`` filtered
it; what the requester typed is reduced to one bounded line so it can never
forge trailers or headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from codex_common.jobs import CommentKind

_MARKER_RE: Final = re.compile(r"<!-- codex-command:(issue_comment|review_comment):(\d+) -->")
_TRAILER_RE: Final = re.compile(
    r"^Codex-Request: (issue_comment|review_comment):(\d+)$", re.MULTILINE
)
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
REQUEST_LINE_CHARS: Final = 120
SUBJECT_CHARS: Final = 72


@dataclass(frozen=True, slots=True)
class CommentRef:
    """The comment a command was written in: the idempotency identity of the command."""

    kind: CommentKind
    comment_id: int

    @property
    def token(self) -> str:
        return f"{self.kind}:{self.comment_id}"


def marker(ref: CommentRef) -> str:
    return f"<!-- codex-command:{ref.token} -->"


def answered(body: str | None, ref: CommentRef) -> bool:
    """Whether ``body`` (one of the App's comments) is the answer to ``ref``."""
    return body is not None and any(
        kind == ref.kind and int(number) == ref.comment_id
        for kind, number in _MARKER_RE.findall(body)
    )


def commit_fixes(message: str, ref: CommentRef) -> bool:
    """Whether a commit message is the fix made for ``ref``."""
    return any(
        kind == ref.kind and int(number) == ref.comment_id
        for kind, number in _TRAILER_RE.findall(message)
    )


def one_line(text: str, limit: int = REQUEST_LINE_CHARS) -> str:
    """``text`` flattened to a single printable line of at most ``limit`` characters."""
    flat = " ".join(_CONTROL_RE.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _reply(ref: CommentRef, text: str, note: str = "") -> str:
    """``text``, then ``note`` (why named files were not looked at), then the marker."""
    extra = f"\n\n{note.strip()}" if note.strip() else ""
    return f"{text.rstrip()}{extra}\n\n{marker(ref)}"


def not_shown(reasons: tuple[tuple[str, str], ...]) -> str:
    """``reasons`` pairs a path (as shown) with why it was not shown (``selection.describe``)."""
    return " ".join(f"`{path}` {why}." for path, why in reasons)


def not_looked_at(reasons: tuple[tuple[str, str], ...]) -> str:
    """The note on a reply when some named files could not be shown to the model."""
    return f"I could not look at every file you named: {not_shown(reasons)}" if reasons else ""


def named_unshowable(ref: CommentRef, reasons: tuple[tuple[str, str], ...]) -> str:
    """No file the request named could be shown, so the model was not asked."""
    return _reply(
        ref,
        "I made no change: I could not show the file you named to the model. "
        f"{not_shown(reasons)} Name a file I can read, or make this change by hand.",
    )


def not_allowed(ref: CommentRef, command: str) -> str:
    return _reply(
        ref,
        f"Sorry, `/codex {command}` can only be run by people with write access to this "
        "repository. A maintainer can run it for you.",
    )


def head_moved(ref: CommentRef, fixed_sha: str, current_sha: str | None) -> str:
    now = f" (now `{current_sha[:12]}`)" if current_sha else ""
    return _reply(
        ref,
        f"The PR changed while I was working: its branch no longer points at "
        f"`{fixed_sha[:12]}`{now}, so I pushed nothing. Run /codex fix again.",
    )


def workflow_refused(ref: CommentRef, paths: tuple[str, ...]) -> str:
    listed = ", ".join(f"`{path}`" for path in paths)
    return _reply(
        ref,
        "I do not change files under `.github/workflows/`, so I pushed nothing. "
        f"The requested change touches {listed}; please make it by hand.",
    )


def nothing_to_fix(ref: CommentRef, reason: str, note: str = "") -> str:
    return _reply(ref, f"I made no change: {reason}", note)


def could_not_apply(ref: CommentRef, problems: tuple[str, ...], note: str = "") -> str:
    lines = "\n".join(f"- {problem}" for problem in problems)
    return _reply(
        ref,
        "I could not produce a fix that applies cleanly, so I pushed nothing:\n\n"
        f"{lines}\n\nTry /codex fix again with more detail.",
        note,
    )


def failed(ref: CommentRef, cause: str | None = None) -> str:
    """The command could not finish; ``cause`` is one plain sentence when it is known."""
    if cause is None:
        return _reply(ref, "Something went wrong while running this command; nothing was changed.")
    return _reply(
        ref,
        f"I could not finish this command: {cause} Nothing was changed; "
        "write the command again to retry.",
    )


def fixed(
    ref: CommentRef,
    *,
    commit_url: str,
    commit_sha: str,
    summary: str,
    files: tuple[str, ...],
    note: str = "",
) -> str:
    listed = ", ".join(f"`{path}`" for path in files)
    body = f"Pushed [{commit_sha[:12]}]({commit_url}) to this PR, changing {listed}."
    if summary:
        body += f"\n\n{summary}"
    return _reply(ref, body, note)


def suggested(
    ref: CommentRef, *, count: int, summary: str, left_out: tuple[str, ...], note: str = ""
) -> str:
    body = (
        f"This PR comes from a fork that does not allow edits by maintainers, so I posted the "
        f"fix as {count} suggestion{'s' if count != 1 else ''} you can apply from the review."
    )
    if left_out:
        listed = ", ".join(f"`{path}`" for path in left_out)
        body += f" Changes to {listed} fall outside the diff and could not be suggested."
    if summary:
        body += f"\n\n{summary}"
    return _reply(ref, body, note)


def special_refused(ref: CommentRef, paths: tuple[tuple[str, str], ...]) -> str:
    """``paths`` pairs a path with what it is (``a symlink``, ``a submodule``)."""
    listed = ", ".join(f"`{path}` is {kind}" for path, kind in paths)
    return _reply(
        ref,
        f"I only edit regular files, so I pushed nothing: {listed}. "
        "Please make this change by hand.",
    )


def review_done(ref: CommentRef, summary: str) -> str:
    """The reply to ``/codex review``; ``summary`` says what the review run did."""
    return _reply(ref, summary)


def help_reply(ref: CommentRef, help_text: str, unknown: str | None) -> str:
    prefix = f"I do not know `/codex {one_line(unknown, 40)}`.\n\n" if unknown else ""
    return _reply(ref, prefix + help_text)


def commit_message(
    ref: CommentRef,
    *,
    request: str,
    summary: str,
    comment_url: str,
    requester_login: str,
    requester_id: int,
) -> str:
    """The fix commit's message. Only the one-line ``summary`` comes from the model, sanitised.

    Git reads trailers from the last paragraph, so the requester's text and the
    summary are flattened into earlier paragraphs and cannot add trailers.
    """
    subject = one_line(
        f"codex fix: {request}" if request else "codex fix: address review findings", SUBJECT_CHARS
    )
    paragraphs = [subject, f"Requested in {comment_url}"]
    if summary:
        paragraphs.append(one_line(summary, 500))
    login = one_line(requester_login, 60)
    paragraphs.append(
        f"Codex-Request: {ref.token}\n"
        f"Co-authored-by: {login} <{requester_id}+{login}@users.noreply.github.com>"
    )
    return "\n\n".join(paragraphs) + "\n"

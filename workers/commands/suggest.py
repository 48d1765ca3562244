"""The fix as review suggestions, for a fork the App cannot push to.

Each edit becomes one ```suggestion comment on the RIGHT side of the PR diff,
posted together in one COMMENT review on the PR's head. GitHub accepts a
suggestion only on lines of one hunk of the diff; an edit elsewhere is left
out and named in the reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workers.commands import messages
from workers.commands.apply import EditFailure, locate_edit
from workers.commands.context import CommandOutcome, Context
from workers.commands.schema import FixProposal
from workers.diff.patch import parse_patch
from workers.github.models import DraftComment, PullFile, PullRequest
from workers.sanitize import sanitize_code


def suggest(
    ctx: Context,
    pull: PullRequest,
    proposal: FixProposal,
    files: Mapping[str, str | None],
    changed: Sequence[PullFile],
    summary: str,
    note: str = "",
) -> CommandOutcome:
    """Post ``proposal``'s edits as suggestions on ``pull``'s head, then reply."""
    diffs = {file.filename: parse_patch(file.filename, file.patch) for file in changed}
    suggestions: list[DraftComment] = []
    left_out: list[str] = []
    for edit in proposal.edits:
        text = files.get(edit.path)
        span = locate_edit(text, edit) if text is not None else EditFailure("absent")
        diff = diffs.get(edit.path)
        code = sanitize_code(edit.replacement)
        if (
            isinstance(span, EditFailure)
            or diff is None
            or code is None
            or not diff.same_hunk(span[0], span[1])
        ):
            left_out.append(edit.path)
            continue
        start, end = span
        suggestions.append(
            DraftComment(
                path=edit.path,
                line=end,
                body=suggestion_block(code),
                start_line=start if start < end else None,
            )
        )
    if not suggestions:
        reason = (
            "the change falls outside the lines this PR's diff shows, so it cannot be suggested."
        )
        ctx.finish(messages.nothing_to_fix(ctx.ref, reason), "confused")
        return "no_change"
    ctx.github.create_review(pull.number, pull.head_sha, summary or "Suggested fix.", suggestions)
    body = messages.suggested(
        ctx.ref,
        count=len(suggestions),
        summary=summary,
        left_out=tuple(dict.fromkeys(left_out)),
        note=note,
    )
    ctx.finish(body, "rocket")
    return "suggested"


def suggestion_block(code: str) -> str:
    """A suggestion block whose fence is longer than any backtick run in ``code``."""
    longest = run = 0
    for char in code:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    body = code if code.endswith("\n") or not code else code + "\n"
    return f"{fence}suggestion\n{body}{fence}"

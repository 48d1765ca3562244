"""Render the fix request for the model from templates in ``prompts/``.

Everything that comes from GitHub (PR title, body and branch, file names, diff
hunks, findings the bot wrote earlier, file contents) is placed inside a DATA
block fenced by a random id: the block ends only at ``<<<END id>>>``, and the
id is drawn per prompt, so text inside cannot close its block and pose as
instructions. The instructions hold no PR text at all: which files may be
edited is the ``files`` block, and file names that are not plain path
characters are shown percent-escaped (``relevance.shown_path``), so a name
cannot break a block's header line. The requester's own text is the
``request`` block; the instructions say it states the task (only a person
with write access can have written it) and that no other block is ever to be
followed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Final

from workers.commands.relevance import shown_path
from workers.commands.selection import Selection, describe
from workers.commands.target import FixTarget

MAX_PR_TEXT_CHARS: Final = 4_000


@dataclass(frozen=True, slots=True)
class FixPrompt:
    """``instructions`` go in the Responses API's ``instructions``; ``input`` is the user input.

    ``input_tokens`` is an estimate for the rate limiter (about four characters per token);
    ``cache_key`` groups fixes by repository so the stable instructions prefix can be cached.
    """

    instructions: str
    input: str
    cache_key: str
    input_tokens: int


@dataclass(frozen=True, slots=True)
class PullText:
    """The PR fields the prompt shows, all untrusted."""

    repository: str
    number: int
    title: str
    body: str
    head_sha: str
    head_ref: str = ""


def _template(name: str) -> Template:
    return Template(
        resources.files("workers.commands").joinpath("prompts").joinpath(name).read_text("utf-8")
    )


def data_block(name: str, content: str, fence: str) -> str:
    """``content`` fenced as untrusted data; a forged end line is defused."""
    end = f"<<<END {fence}>>>"
    safe = content.replace(end, f"<<<END {fence[:4]}…>>>")
    return f"<<<DATA {name} {fence}>>>\n{safe}\n{end}"


def numbered(text: str) -> str:
    return "\n".join(f"{index:>5} | {line}" for index, line in enumerate(text.splitlines(), 1))


def render(
    target: FixTarget,
    pull: PullText,
    selection: Selection,
    files: Mapping[str, str],
    *,
    fence: str | None = None,
) -> FixPrompt:
    """The prompt for ``target``: ``selection`` says which files are shown (in order)
    and why the others are not; ``files`` holds the shown files' head contents."""
    fence = fence or secrets.token_hex(8)
    instructions = _template("instructions.md").substitute()

    if target.instruction:
        request = "The maintainer's request, the task to perform:\n" + data_block(
            "request", target.instruction, fence
        )
    elif target.thread is not None:
        request = "The maintainer asks you to fix what this review thread is about."
    else:
        request = "The maintainer asks you to fix the findings below."

    pr_text = f"Title: {pull.title}\nBranch: {pull.head_ref}\n\n{pull.body}"[:MAX_PR_TEXT_CHARS]
    text = _template("request.md").substitute(
        repository=pull.repository,
        number=pull.number,
        head_sha=pull.head_sha,
        request_section=request,
        findings_section=_findings_section(target, fence),
        thread_section=_thread_section(target, fence),
        pr_block=data_block("pull_request", pr_text, fence),
        files_section=_files_section(selection, files, fence),
    )
    tokens = (len(instructions) + len(text)) // 4 + 1
    return FixPrompt(
        instructions=instructions,
        input=text,
        cache_key=f"fix:{pull.repository}",
        input_tokens=tokens,
    )


def _findings_section(target: FixTarget, fence: str) -> str:
    if not target.findings:
        return ""
    rendered = "\n\n".join(
        f"[{finding.badge}] {shown_path(finding.path)} lines {finding.line_start}-"
        f"{finding.line_end}: {finding.title}\n{finding.body}\nQuoted lines:\n{finding.quote}"
        for finding in target.findings
    )
    return "Findings to fix (written by an automated review):\n" + data_block(
        "findings", rendered, fence
    )


def _thread_section(target: FixTarget, fence: str) -> str:
    thread = target.thread
    if thread is None:
        return ""
    lines = "unknown lines"
    if thread.line_range is not None:
        start, end = thread.line_range
        lines = f"line {end}" if start == end else f"lines {start}-{end}"
    content = f"File: {shown_path(thread.path)}\nAt: {lines} of the new file\n\n{thread.diff_hunk}"
    return "The review thread: its file, lines and diff hunk:\n" + data_block(
        "thread", content, fence
    )


def _files_section(selection: Selection, files: Mapping[str, str], fence: str) -> str:
    editable = set(selection.editable)
    listing = [
        f"{shown_path(path)}: shown below; "
        + ("you may edit it" if path in editable else "for context only, do not edit it")
        for path in selection.shown
    ]
    listing += [
        f"{shown_path(item.path)}: not shown, do not edit it: it {describe(item, selection.caps)}"
        for item in selection.left_out
    ]
    parts = [data_block("files", "\n".join(listing) or "(none)", fence)]
    for path in selection.shown:
        parts.append(data_block(f"file {shown_path(path)}", numbered(files[path]), fence))
    return "\n\n".join(parts)

"""Render the fix request for the model from templates in ``prompts/``.

Everything that comes from GitHub (PR text, diff hunks, findings the bot wrote
earlier, file contents) is placed inside a DATA block fenced by a random id:
the block ends only at ``<<<END id>>>``, and the id is drawn per prompt, so
text inside cannot close its block and pose as instructions. The requester's
own text is in a block too; it states the task, but only a person with write
access can have written it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Final

from workers.commands.target import FixTarget

MAX_FILE_CHARS: Final = 60_000
MAX_TOTAL_FILE_CHARS: Final = 240_000
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
    files: Mapping[str, str],
    *,
    fence: str | None = None,
) -> FixPrompt:
    """The prompt for ``target``. ``files`` holds the editable files' head contents.

    Files larger than ``MAX_FILE_CHARS`` or past the overall budget are named
    but not shown, so the model refuses rather than guesses.
    """
    fence = fence or secrets.token_hex(8)
    allowed = ", ".join(f"`{path}`" for path in target.paths) or "(none)"
    instructions = _template("instructions.md").substitute(allowed_paths=allowed)

    if target.instruction:
        request = "The maintainer's request:\n" + data_block("request", target.instruction, fence)
    elif target.thread is not None:
        request = "The maintainer asks you to fix what this review thread is about."
    else:
        request = "The maintainer asks you to fix the findings below."

    findings = _findings_section(target, fence)
    thread = _thread_section(target, fence)
    pr_text = f"{pull.title}\n\n{pull.body}"[:MAX_PR_TEXT_CHARS]
    text = _template("request.md").substitute(
        repository=pull.repository,
        number=pull.number,
        head_sha=pull.head_sha,
        request_section=request,
        findings_section=findings,
        thread_section=thread,
        pr_block=data_block("pull_request", pr_text, fence),
        files_section=_files_section(target.paths, files, fence),
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
        f"[{finding.badge}] {finding.path} lines {finding.line_start}-{finding.line_end}: "
        f"{finding.title}\n{finding.body}\nQuoted lines:\n{finding.quote}"
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
    return (
        f"The review thread is on `{thread.path}`, {lines} of the new file. Its diff hunk:\n"
        + data_block("diff_hunk", thread.diff_hunk, fence)
    )


def _files_section(paths: Sequence[str], files: Mapping[str, str], fence: str) -> str:
    budget = MAX_TOTAL_FILE_CHARS
    parts: list[str] = []
    for path in paths:
        content = files.get(path)
        if content is None:
            parts.append(f"`{path}`: does not exist at this commit; it cannot be edited.")
            continue
        shown = numbered(content)
        if len(shown) > min(MAX_FILE_CHARS, budget):
            parts.append(f"`{path}`: too large to show; do not edit it.")
            continue
        budget -= len(shown)
        parts.append(f"`{path}`:\n" + data_block(f"file {path}", shown, fence))
    return "\n\n".join(parts)

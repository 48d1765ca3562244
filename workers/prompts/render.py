"""Render a segment into the model's prompt: trusted instructions apart from untrusted data.

Templates are the ``.md`` files beside this module, filled with
``string.Template`` (one pass, so text inside a value is never expanded).

``instructions`` holds only trusted text: our rubric and the repository's review
guidelines read from the base branch. ``input`` holds the pull request's title,
description, commit messages and the rendered diff, each inside a block
``<<<DATA-<tag> name`` ... ``DATA-<tag>>>>``. The tag is derived from a hash
of the data and checked not to occur in it, so the data cannot close its block.
Zero-width and bidirectional control characters are removed from untrusted text.

``cache_key`` depends only on the instructions, so every segment of every
review of a repository shares OpenAI's prompt cache for the rubric prefix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from typing import Final

from workers.diff import tokens
from workers.diff.plans import Segment

_INVISIBLE: Final = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u180e]")
_COMMIT_LIMIT: Final = 50


@dataclass(frozen=True, slots=True)
class PullContext:
    """What the prompt says about the pull request. All text fields are untrusted."""

    repository: str
    title: str = ""
    body: str = ""
    commit_messages: tuple[str, ...] = ()
    base_ref: str = ""
    head_ref: str = ""


@dataclass(frozen=True, slots=True)
class Prompt:
    instructions: str
    input: str
    cache_key: str
    input_tokens: int


@cache
def template(name: str) -> Template:
    return Template(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


def clean(text: str) -> str:
    """Untrusted text without zero-width or bidi control characters."""
    return _INVISIBLE.sub("", text)


def _fence(parts: Sequence[str]) -> str:
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    for offset in range(0, len(digest) - 12):
        fence = f"DATA-{digest[offset : offset + 12]}"
        if not any(fence in part for part in parts):
            return fence
    # Unreachable in practice: the data would have to contain every candidate.
    return "DATA-" + hashlib.sha256(digest.encode()).hexdigest()


def render_instructions(repository: str, guidelines: Mapping[str, str]) -> str:
    shared = ""
    if guidelines:
        text = "\n\n".join(
            f"From {path}:\n{body.strip()}" for path, body in sorted(guidelines.items())
        )
        shared = template("review_guidelines.md").substitute(guidelines=text)
    return template("review_rubric.md").substitute(repository=repository, guidelines=shared)


def related_block(related: str, fence: str) -> str:
    """The data block of related code shown before the diff (``workers.context``), or
    nothing. It is context for the reader, not part of the diff: findings on it cannot
    be anchored (``workers.diff.anchor`` places quotes inside the diff's hunks only)."""
    return f"<<<{fence} context\n{related}{fence}>>>\n\n" if related else ""


def render_prompt(
    segment: Segment,
    pull: PullContext,
    guidelines: Mapping[str, str],
    *,
    parts: int = 1,
    related: str = "",
) -> Prompt:
    """The prompt for one segment; ``parts`` is how many segments the review has;
    ``related`` the segment's related code from the repository, if any."""
    instructions = render_instructions(pull.repository, guidelines)
    commits = "\n".join(
        f"- {clean(message).strip().splitlines()[0] if message.strip() else ''}"
        for message in pull.commit_messages[:_COMMIT_LIMIT]
    )
    data = {
        "title": clean(pull.title),
        "body": clean(pull.body),
        "commits": commits,
        "diff": clean(segment.text),
    }
    fence = _fence([*data.values(), *([clean(related)] if related else [])])
    text = template("review_input.md").substitute(
        repository=clean(pull.repository),
        head_ref=clean(pull.head_ref),
        base_ref=clean(pull.base_ref),
        part=segment.index + 1,
        parts=max(parts, segment.index + 1),
        fence=fence,
        related=related_block(clean(related), fence),
        **data,
    )
    key = "codex-review-" + hashlib.sha256(instructions.encode()).hexdigest()[:24]
    return Prompt(
        instructions=instructions,
        input=text,
        cache_key=key,
        input_tokens=tokens.count(instructions) + tokens.count(text),
    )

"""Render a segment into the model's prompt: trusted instructions apart from untrusted data.

Templates are the ``.md`` files beside this module, filled with
``string.Template`` (one pass, so text inside a value is never expanded).

``instructions`` holds only trusted text: our rubric, the tools offered (from
the tool list, so a tool is described only when it is offered) and the
repository's review guidelines read from the default branch. ``input`` holds
everything from the pull request, each part inside a block
``<<<DATA-<tag> name`` ... ``DATA-<tag>>>>``: the repository and branch names,
the title, the description, the commit subjects, then the part number and the
segment's diff. Zero-width and bidirectional control characters are removed
from untrusted text; file and branch names are shown through
``workers.prompts.names.shown_name``.

The layout serves OpenAI's prompt cache, which reuses the longest prefix (of at
least 1,024 tokens) an earlier request sent: everything the segments of one
pull request share comes first and is byte-identical across them (the
instructions hold the guidelines for every file of the review, not only this
segment's; the blocks use one tag per pull request), and only the part number
and the diff come last. ``cache_key`` (sent as ``prompt_cache_key``) is one
per repository, so the segments and reviews of a repository reach the same
cache.

The tag is derived from a hash of the pull request's shared data and checked
not to occur in it nor in the segment's diff, so the data cannot close its
block; a segment whose diff happens to hold the pull request's tag gets
another one (and only that segment loses the shared prefix).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from typing import Final

from workers.diff import tokens
from workers.diff.plans import Segment
from workers.prompts.names import shown_name

_INVISIBLE: Final = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u180e]")
COMMIT_LIMIT: Final = 50
SUBJECT_CHARS: Final = 200
_AGENTS: Final = "AGENTS.md"


@dataclass(frozen=True, slots=True)
class PullContext:
    """What the prompt says about the pull request. All text fields are untrusted.

    ``commit_messages`` are the messages of the last commits GitHub lists
    (it lists the first 250), oldest first; ``commit_count`` is how many
    commits the pull request has (0: as many as listed).
    """

    repository: str
    title: str = ""
    body: str = ""
    commit_messages: tuple[str, ...] = ()
    base_ref: str = ""
    head_ref: str = ""
    commit_count: int = 0


@dataclass(frozen=True, slots=True)
class ToolNote:
    """A tool offered to the model, as the instructions describe it."""

    name: str
    description: str


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


def choose_fence(shared: Sequence[str], own: str = "") -> str:
    """A tag derived from ``shared`` that occurs in none of ``shared`` nor in ``own``.

    Every segment of a pull request passes the same ``shared`` data, so all get
    the same tag unless a segment's own text holds it.
    """
    digest = hashlib.sha256("\0".join(shared).encode("utf-8", "surrogatepass")).hexdigest()
    parts = (*shared, own)
    for offset in range(0, len(digest) - 12):
        fence = f"DATA-{digest[offset : offset + 12]}"
        if not any(fence in part for part in parts):
            return fence
    # Unreachable in practice: the data would have to contain every candidate.
    return "DATA-" + hashlib.sha256(digest.encode()).hexdigest()


def cache_key_for(repository: str) -> str:
    """The ``prompt_cache_key`` of a repository's reviews: one per repository."""
    return "codex-review-" + hashlib.sha256(repository.encode()).hexdigest()[:24]


def render_instructions(guidelines: Mapping[str, str], tools: Sequence[ToolNote] = ()) -> str:
    """The rubric, the tools section when ``tools`` are offered, and the guidelines.

    ``guidelines`` maps a trusted source (an ``AGENTS.md`` path on the default
    branch, or the configuration file) to its text.
    """
    tool_text = ""
    if tools:
        lines = "\n".join(f"- `{tool.name}`: {tool.description}" for tool in tools)
        tool_text = template("review_tools.md").substitute(tools=lines)
    shared = ""
    if guidelines:
        text = "\n\n".join(
            f"### From `{shown_name(source)}`{_applies_to(source)}\n{body.strip()}"
            for source, body in sorted(guidelines.items())
        )
        shared = template("review_guidelines.md").substitute(guidelines=text)
    return template("review_rubric.md").substitute(tools=tool_text, guidelines=shared)


def _applies_to(source: str) -> str:
    if posixpath.basename(source) != _AGENTS:
        return ""
    directory = posixpath.dirname(source)
    if not directory:
        return " (for files with no nearer `AGENTS.md`)"
    return f" (for files under `{shown_name(directory)}/` with no nearer `AGENTS.md`)"


def commit_lines(pull: PullContext) -> tuple[str, str]:
    """The commits block's text (one subject a line, the latest ``COMMIT_LIMIT``) and the
    note before it saying how many are shown."""
    messages = pull.commit_messages[-COMMIT_LIMIT:]
    subjects = []
    for message in messages:
        lines = clean(message).strip().splitlines()
        subject = lines[0].strip() if lines else ""
        if len(subject) > SUBJECT_CHARS:
            subject = subject[:SUBJECT_CHARS] + " …"
        subjects.append(f"- {subject}")
    total = max(pull.commit_count, len(pull.commit_messages))
    if not subjects:
        note = "Commit subjects: none listed."
    elif len(subjects) == total:
        note = f"Commit subjects ({total}), oldest first:"
    else:
        note = f"Commit subjects: {len(subjects)} of {total}, oldest first:"
    return "\n".join(subjects), note


@dataclass(frozen=True, slots=True)
class SharedInput:
    """The part of the input every segment of a pull request shares, and its data."""

    data: tuple[str, ...]
    values: Mapping[str, str]

    @classmethod
    def of(cls, pull: PullContext) -> SharedInput:
        commits, note = commit_lines(pull)
        values = {
            "repository": shown_name(clean(pull.repository)),
            "base_ref": shown_name(clean(pull.base_ref)),
            "head_ref": shown_name(clean(pull.head_ref)),
            "title": clean(pull.title),
            "body": clean(pull.body),
            "commits": commits,
            "commit_note": note,
        }
        return cls(data=tuple(values.values()), values=values)

    def render(self, fence: str) -> str:
        return template("review_input.md").substitute(fence=fence, **self.values)


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
    tools: Sequence[ToolNote] = (),
    related: str = "",
) -> Prompt:
    """The prompt for one segment; ``parts`` is how many segments the review has.

    ``guidelines`` should be the same for every segment of a review (those of
    all its files) and ``tools`` the tools offered, so that the instructions
    and the start of the input are the same for every segment. ``related`` is the
    segment's related code from the repository (``workers.context``), shown last
    before the diff, if any.
    """
    instructions = render_instructions(guidelines, tools)
    shared = SharedInput.of(pull)
    diff = clean(segment.text)
    context = clean(related)
    fence = choose_fence(shared.data, diff + "\0" + context)
    text = shared.render(fence) + template("review_part.md").substitute(
        part=segment.index + 1,
        parts=max(parts, segment.index + 1),
        fence=fence,
        related=related_block(context, fence),
        diff=diff,
    )
    return Prompt(
        instructions=instructions,
        input=text,
        cache_key=cache_key_for(pull.repository),
        input_tokens=tokens.count(instructions) + tokens.count(text),
    )

"""Review guidelines from ``AGENTS.md`` files, read from the default branch.

A repository can hold an ``AGENTS.md`` at its root and in any directory. For a
changed file, the nearest ``AGENTS.md`` up the directory tree that has a
``Review guidelines`` section wins; an ``AGENTS.md`` without that section
(build notes for a sub-project, say) does not hide the guidelines above it.

The section runs from a heading whose text is ``Review guidelines`` (any
level, any case) to the next heading of the same or a higher level; headings
inside fenced code blocks do not count. Each section is capped in length.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from workers.sanitize import truncate

AGENTS_FILE: Final = "AGENTS.md"
MAX_GUIDELINE_BYTES: Final = 4_000
_HEADING: Final = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE: Final = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TITLE: Final = "review guidelines"


def extract_section(markdown: str, *, max_bytes: int = MAX_GUIDELINE_BYTES) -> str | None:
    """The body of the ``Review guidelines`` section, stripped, or ``None`` when absent or empty."""
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    fence: str | None = None
    level: int | None = None
    body: list[str] = []
    for line in lines:
        if fence is not None:
            closer = line.strip()
            if set(closer) == {fence[0]} and len(closer) >= len(fence):
                fence = None
            if level is not None:
                body.append(line)
            continue
        if fence_match := _FENCE.match(line):
            fence = fence_match.group(1)
            if level is not None:
                body.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            depth = len(heading.group(1))
            title = " ".join((heading.group(2) or "").split()).rstrip(":").lower()
            if level is not None and depth <= level:
                break
            if level is None and title == _TITLE:
                level = depth
                continue
        if level is not None:
            body.append(line)
    text = "\n".join(body).strip()
    if not text:
        return None
    return truncate(text, max_bytes, "\n\n… (guidelines truncated)")


def _agents_dir(path: str) -> str | None:
    """The directory an ``AGENTS.md`` path governs ("" for the root), or ``None``."""
    clean = path.strip("/")
    if posixpath.basename(clean) != AGENTS_FILE:
        return None
    return posixpath.dirname(clean)


def agents_candidates(paths: Iterable[str]) -> frozenset[str]:
    """The ``AGENTS.md`` paths that could apply to ``paths``: one in each directory above
    each path, the root's included."""
    candidates: set[str] = set()
    for path in paths:
        directory = posixpath.dirname(path.strip("/"))
        while True:
            candidates.add(posixpath.join(directory, AGENTS_FILE))
            if not directory:
                break
            directory = posixpath.dirname(directory)
    return frozenset(candidates)


@dataclass(frozen=True, slots=True)
class Guideline:
    """One guideline section and the changed files it applies to."""

    source: str
    text: str
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Guidelines:
    """Guidelines for a set of changed files, each section once."""

    sections: tuple[Guideline, ...]
    by_path: Mapping[str, str]

    def for_path(self, path: str) -> str | None:
        """The guideline text that applies to ``path``, or ``None``."""
        return self.by_path.get(path)

    @classmethod
    def resolve(
        cls,
        agents: Mapping[str, str],
        changed: Iterable[str],
        *,
        max_bytes: int = MAX_GUIDELINE_BYTES,
    ) -> Guidelines:
        """Match each changed path to the nearest ``AGENTS.md`` with guidelines.

        ``agents`` maps ``AGENTS.md`` paths (``"AGENTS.md"``, ``"pkg/AGENTS.md"``)
        to their text; other keys are ignored.
        """
        sections: dict[str, tuple[str, str]] = {}
        for path, text in agents.items():
            directory = _agents_dir(path)
            section = extract_section(text, max_bytes=max_bytes) if directory is not None else None
            if directory is not None and section is not None:
                sections[directory] = (posixpath.join(directory, AGENTS_FILE), section)
        by_path: dict[str, str] = {}
        # Keyed by text: two AGENTS.md files with the same section give one entry.
        users: dict[str, tuple[str, list[str]]] = {}
        for changed_path in dict.fromkeys(changed):
            directory = posixpath.dirname(changed_path.strip("/"))
            while True:
                if directory in sections:
                    source, text = sections[directory]
                    by_path[changed_path] = text
                    users.setdefault(text, (source, []))[1].append(changed_path)
                    break
                if not directory:
                    break
                directory = posixpath.dirname(directory)
        found = tuple(
            sorted(
                (
                    Guideline(source=source, text=text, paths=tuple(paths))
                    for text, (source, paths) in users.items()
                ),
                key=lambda guideline: guideline.source,
            )
        )
        return cls(sections=found, by_path=by_path)

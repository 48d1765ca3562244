"""The model's read-only view of a pull request's head commit.

``HeadToolHost`` answers the model's function tools: ``read_file`` reads any
file of the repository at the reviewed head SHA; ``search`` looks for a
literal string and ``find_references`` for a name as a whole word. With the
repository's mirror (``repo``, a ``RepoView`` at the head) files are read from
it and both searches run over the whole repository (``git grep``); without
it, files are read through the GitHub client (once per path per job) and the
searches cover the head contents of the PR's changed files only. ``scope``
says which, for the tools' descriptions. Nothing here writes anywhere and no
token or credential ever reaches the model: answers are plain text.

The pattern is matched literally, never as a regular expression: the model's
text is untrusted and a crafted regex could stall a worker.

Paths are checked before use: absolute paths, ``..`` components and
backslashes are refused with a message the model can read.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from workers.context.view import GrepHit, RepoView
from workers.github.errors import GitHubError

FileReader = Callable[[str, str], "bytes | None"]
"""``(path, ref) -> bytes | None``: the GitHub client's ``get_file``."""

MAX_LINES = 400
MAX_SEARCH_HITS = 50
MAX_LINE_CHARS = 400


def _clean_path(path: str) -> str | None:
    if not path or "\\" in path or "\x00" in path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in {"..", "."} for part in pure.parts):
        return None
    return str(pure)


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " …"


@dataclass
class HeadToolHost:
    """A ``ToolHost`` over one head commit.

    ``changed`` maps the PR's changed paths to their head text (already fetched
    by the pipeline); other paths are read from ``repo`` when there is one, else
    through ``reader``, on demand, and kept for the rest of the job. Thread-safe:
    segments are reviewed concurrently. ``close`` releases the mirror.
    """

    reader: FileReader
    head_sha: str
    changed: Mapping[str, str]
    repo: RepoView | None = None
    on_close: Callable[[], None] | None = None
    _files: dict[str, str | None] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def scope(self) -> str:
        if self.repo is not None:
            return self.repo.scope
        return "only the pull request's changed files (not the rest of the repository)"

    def close(self) -> None:
        close, self.on_close = self.on_close, None
        if close is not None:
            close()

    def _text(self, path: str) -> str | None:
        """The head text of ``path``, ``None`` when absent; raises ``GitHubError``."""
        if path in self.changed:
            return self.changed[path]
        with self._lock:
            if path in self._files:
                return self._files[path]
        if self.repo is not None:
            text = self.repo.read([path]).get(path)
        else:
            data = self.reader(path, self.head_sha)
            text = None if data is None else data.decode("utf-8", "replace")
        with self._lock:
            self._files[path] = text
        return text

    def read_file(self, path: str, start_line: int, end_line: int) -> str:
        """Lines ``start_line``..``end_line`` (1-based, inclusive) numbered as in the file."""
        clean = _clean_path(path)
        if clean is None:
            return f"error: {path!r} is not a repository-relative path"
        try:
            text = self._text(clean)
        except GitHubError as exc:
            # Not remembered: the model may ask again and GitHub may answer then.
            return f"error: {clean} could not be read now ({type(exc).__name__})"
        if text is None:
            return f"error: {clean} does not exist at {self.head_sha[:12]}"
        lines = text.splitlines()
        if not lines:
            return f"{clean} is empty"
        start = max(1, start_line)
        end = min(len(lines), max(start, end_line), start + MAX_LINES - 1)
        if start > len(lines):
            return f"error: {clean} has only {len(lines)} lines"
        body = "\n".join(
            f"{number:>6}  {_clip(lines[number - 1])}" for number in range(start, end + 1)
        )
        note = "" if end >= min(end_line, len(lines)) else f"\n(output cut at {MAX_LINES} lines)"
        return f"{clean} lines {start}-{end} of {len(lines)}:\n{body}{note}"

    @property
    def search_scope(self) -> str:
        """What ``search`` and ``find_references`` look through, for the model."""
        return self.scope

    def search(self, pattern: str) -> str:
        """Lines containing ``pattern`` literally, as ``path:line: text``, in ``scope``."""
        if not pattern.strip():
            return "error: empty search pattern"
        return self._answer(self._hits(pattern, word=False), repr(pattern))

    def find_references(self, symbol: str) -> str:
        """Lines holding ``symbol`` as a whole word (definitions and uses), in ``scope``."""
        if not symbol.strip():
            return "error: empty symbol"
        return self._answer(self._hits(symbol, word=True), f"the name {symbol!r}")

    def _hits(self, text: str, *, word: bool) -> list[GrepHit]:
        if self.repo is not None:
            # The changed files' head text is the same as the mirror's at the head SHA.
            return self.repo.grep([text], limit=MAX_SEARCH_HITS + 1, word=word)
        whole = re.compile(rf"(?<![A-Za-z0-9_$]){re.escape(text)}(?![A-Za-z0-9_$])")

        def matches(line: str) -> bool:
            return whole.search(line) is not None if word else text in line

        hits: list[GrepHit] = []
        for path in sorted(self.changed):
            for number, line in enumerate(self.changed[path].splitlines(), start=1):
                if matches(line):
                    hits.append(GrepHit(path, number, line))
                    if len(hits) > MAX_SEARCH_HITS:
                        return hits
        return hits

    def _answer(self, hits: list[GrepHit], what: str) -> str:
        if not hits:
            return f"no match for {what} in {self.scope}"
        lines = [f"{h.path}:{h.line}: {_clip(h.text.strip())}" for h in hits[:MAX_SEARCH_HITS]]
        if len(hits) > MAX_SEARCH_HITS:
            lines.append(f"(stopped at {MAX_SEARCH_HITS} matches)")
        return "\n".join(lines)

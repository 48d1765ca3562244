"""Which files a fix request is about: pure matching of the requester's words.

``resolve_names`` finds the paths a request names: a PR file named exactly or
by an unambiguous suffix (``types.py`` for ``src/click/types.py``), and
candidates outside the PR (the caller checks those at the head). A suffix
several PR files share names none of them; they rank as pointed at.

``pointed_at`` ranks the PR files the request's words point at: a word that
is a file's base name without its extension (``types``), and identifiers
written as code (``Range.contains``, ``parse_args``, ``camelCase``, or in
backticks) that the file's patch contains.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

#: At most this many paths named in one request are looked at.
MAX_NAMED_PATHS: Final = 10
#: Identifiers shorter than this never point at a file.
MIN_WORD: Final = 3

# ``name.ext``, with optional directories; the extension must hold a letter, so
# "v1.2" names no file.
_PATH_RE: Final = re.compile(
    r"(?<![\w/.@:-])((?:[\w.-]+/)*[\w-][\w.-]*\.(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{1,10})(?![\w/])"
)
# ``dir/name`` without an extension (``src/pkg/Makefile``).
_WORD_PATH_RE: Final = re.compile(r"(?<![\w/.@:-])((?:[\w.-]+/)+[\w.-]+)(?![\w/])")
#: Extensions a bare name (no directory) needs to count as a file outside the PR, so
#: ``Range.contains`` or ``self.high`` in a request are not taken for file names.
FILE_EXTENSIONS: Final = frozenset(
    {
        "py", "pyi", "pyx", "js", "jsx", "mjs", "cjs", "ts", "tsx", "json", "yaml", "yml",
        "toml", "ini", "cfg", "conf", "md", "rst", "txt", "html", "htm", "css", "scss",
        "less", "java", "kt", "kts", "scala", "go", "rs", "rb", "php", "c", "h", "cc",
        "cpp", "hpp", "cs", "swift", "m", "sh", "bash", "zsh", "ps1", "bat", "sql",
        "proto", "graphql", "vue", "svelte", "xml", "lock", "gradle", "tf", "lua", "pl",
        "r", "ex", "exs", "erl", "hs", "ml", "dart", "ipynb", "csv", "env", "mk", "cmake",
        "dockerfile", "in", "tmpl", "j2", "tpl",
    }
)  # fmt: skip
_URL_RE: Final = re.compile(r"https?://\S+")
_BACKTICKS_RE: Final = re.compile(r"`([^`\n]{1,200})`")
_WORD_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(\()?")
_IDENT_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Names:
    """What a request names: ``in_pr`` are PR files; ``elsewhere`` are paths to look
    for at the head; ``ambiguous`` are PR files a shared suffix matched."""

    in_pr: tuple[str, ...] = ()
    elsewhere: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()


def is_safe_path(path: str) -> bool:
    """A relative, normalised repository path with no ``..`` and no empty parts."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    parts = path.split("/")
    return all(part not in ("", ".", "..") for part in parts) and posixpath.normpath(path) == path


def path_tokens(text: str) -> tuple[str, ...]:
    """Path-like words of ``text``, in order, safe ones only; URLs are dropped."""
    cleaned = _URL_RE.sub(" ", text).replace("`", " ")
    found: list[str] = []
    for regex in (_PATH_RE, _WORD_PATH_RE):
        for match in regex.finditer(cleaned):
            candidate = match.group(1).rstrip(".")
            if is_safe_path(candidate) and candidate not in found:
                found.append(candidate)
    found.sort(key=cleaned.find)
    return tuple(found)


def resolve_names(text: str, pr_files: Sequence[str]) -> Names:
    """The paths ``text`` names, resolved against the PR's files (see the module doc)."""
    known = set(pr_files)
    in_pr: list[str] = []
    elsewhere: list[str] = []
    ambiguous: list[str] = []
    for token in path_tokens(text)[:MAX_NAMED_PATHS]:
        if token in known:
            matches = [token]
        else:
            matches = [path for path in pr_files if path.endswith("/" + token)]
        if len(matches) == 1:
            in_pr.append(matches[0])
        elif matches:
            ambiguous.extend(matches)
        elif "/" in token or token.rsplit(".", 1)[-1].lower() in FILE_EXTENSIONS:
            elsewhere.append(token)
    return Names(
        _unique(in_pr), _unique(elsewhere), _unique(p for p in ambiguous if p not in in_pr)
    )


def code_words(text: str) -> tuple[str, ...]:
    """Identifiers ``text`` writes as code: dotted, snake_case, camelCase, called or quoted."""
    quoted = " ".join(_BACKTICKS_RE.findall(text))
    words: list[str] = [w for w in _IDENT_RE.findall(quoted) if len(w) >= MIN_WORD]
    for match in _WORD_RE.finditer(_URL_RE.sub(" ", text)):
        word, called = match.group(0).rstrip("("), match.group(1) is not None
        parts = word.split(".")
        for part in parts:
            if len(part) < MIN_WORD:
                continue
            if called or len(parts) > 1 or "_" in part or any(c.isupper() for c in part[1:]):
                words.append(part)
    return _unique(words)


def pointed_at(
    text: str, patches: Mapping[str, str | None], exclude: Iterable[str] = ()
) -> tuple[str, ...]:
    """PR files (keys of ``patches``, with their patch text) the words of ``text`` point
    at, strongest first; ``exclude`` (already named) are left out."""
    skip = set(exclude)
    plain = {w.lower() for w in _IDENT_RE.findall(_URL_RE.sub(" ", text)) if len(w) >= MIN_WORD}
    code = code_words(text)
    scores: dict[str, int] = {}
    for path, patch in patches.items():
        if path in skip:
            continue
        stem = posixpath.basename(path).split(".")[0].lower()
        score = 2 if stem in plain else 0
        if patch and code:
            score += sum(1 for word in code if re.search(rf"\b{re.escape(word)}\b", patch))
        if score:
            scores[path] = score
    return tuple(sorted(scores, key=lambda path: -scores[path]))


def _unique(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(paths))


_PLAIN_PATH_RE: Final = re.compile(r"[A-Za-z0-9._/+-]+")


def shown_path(path: str) -> str:
    """``path`` as prompts and replies show it: plain path characters as they are,
    anything else (spaces, backticks, newlines, non-ASCII) percent-escaped, so a
    file name can never read as words, markup or a line of its own."""
    if _PLAIN_PATH_RE.fullmatch(path):
        return path
    return "".join(
        char if _PLAIN_PATH_RE.fullmatch(char) else "".join(f"%{b:02X}" for b in char.encode())
        for char in path
    )

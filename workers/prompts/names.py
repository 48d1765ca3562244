"""How names from a pull request (file paths, branch names) are shown to the model.

A name is shown as it is when every character is a plain path character:
ASCII letters and digits, space and ``. _ / @ + - [ ] ( ) { } ~ , = # % !``.
Any other character (a backtick, a quote, ``<`` or ``>``, a backslash, a
newline or any control character, and every non-ASCII character, homoglyphs
and bidirectional controls included) is shown as a ``\\uXXXX`` escape
(``\\UXXXXXXXX`` beyond the Basic Multilingual Plane), the backslash itself
as ``\\u005c``. A shown name is therefore one line of printable ASCII that
cannot open or close a data block, start a Markdown code span, or hide text.

``shown_name`` is one-to-one, so ``restore_path`` maps a path the model
copied from the prompt back to the file it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

_PLAIN: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._/@+-[](){}~,=#%!"
)
_ODD: Final = re.compile(r"[^A-Za-z0-9 ._/@+\-\[\](){}~,=#%!]")


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def shown_name(name: str) -> str:
    """``name`` with every character outside the plain set escaped (see the module doc)."""
    if all(char in _PLAIN for char in name):
        return name
    return _ODD.sub(lambda match: _escape(match.group(0)), name)


def is_plain(name: str) -> bool:
    """True when ``name`` is shown unchanged."""
    return all(char in _PLAIN for char in name)


def restore_path(shown: str, paths: Iterable[str]) -> str:
    """The path among ``paths`` that is shown as ``shown``; ``shown`` itself when none is."""
    for path in paths:
        if shown_name(path) == shown:
            return path
    return shown

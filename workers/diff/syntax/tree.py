"""One file's structure from its parse tree: enclosing scopes, definitions, references.

``FileSyntax.from_source(path, text)`` parses ``text`` with the grammar its
extension names (see ``languages``). It always answers: a file without a
grammar, over ``MAX_BYTES``, or whose parse runs past ``PARSE_SECONDS`` is
not parsed, and then ``enclosing`` comes from the indentation scan of
``heuristic`` and ``definitions``/``references`` are empty. In a parsed file
the scan also answers for lines inside a region the parser could not read
(an ``ERROR`` node); elsewhere, broken code nearby does not matter.

A scope is a definition of any kind but ``constant``; it encloses the lines
after its signature line (the line of its name, so decorators, annotations and
a C return type on a line of its own are not inside it) down to its last line.
``enclosing`` gives at most ``MAX_DEPTH`` scopes, the innermost ones; a
blank line after the last statement of the file is answered as that
statement (the planner places code deleted at the end of a file there).

The value holds the parse tree (about twenty times the size of the source):
keep it for as long as the file is being looked at, not longer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

from tree_sitter import Node, QueryCursor, Tree

from workers.diff.syntax.heuristic import MAX_DEPTH, IndentScopes, Scope
from workers.diff.syntax.languages import Grammar, grammar, language_of

MAX_BYTES: Final = 1 << 20
PARSE_SECONDS: Final = 1.0
_CHUNK: Final = 1 << 13
# Kinds a function takes when it is defined directly in one of these.
_METHOD_HOSTS: Final = frozenset({"class", "interface", "impl", "enum"})


@dataclass(frozen=True, slots=True)
class Definition:
    """A named definition: ``kind`` is the query's (function, method, class, ...).

    ``line`` is the line of the name, ``start_line``/``end_line`` the whole
    definition's, decorators and annotations included; ``header_end`` the last
    line of its signature (parameters, and a brace-opened body's first line),
    so a change up to it changes how the definition is called; all 1-based.
    """

    name: str
    kind: str
    line: int
    start_line: int
    end_line: int
    header_end: int = 0


@dataclass(frozen=True, slots=True)
class Reference:
    """A use of a name: ``kind`` is ``call`` or ``type`` (a base class or interface)."""

    name: str
    kind: str
    line: int


@dataclass(frozen=True, slots=True)
class FileSyntax:
    """The structure of one file's text; see the module docstring for the contract."""

    path: str
    language: str | None
    lines: tuple[str, ...]
    _grammar: Grammar | None = field(repr=False, compare=False)
    _tree: Tree | None = field(repr=False, compare=False)
    _memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_source(cls, path: str, text: str) -> FileSyntax:
        """Parse ``text`` as the content of ``path``; never raises for bad input."""
        lines = tuple(text.split("\n"))
        name = language_of(path)
        data = text.encode("utf-8", "replace")
        if name is None or len(data) > MAX_BYTES:
            return cls(path, None, lines, None, None)
        found = grammar(name)
        tree = _parse(found, data)
        if tree is None:
            return cls(path, None, lines, None, None)
        return cls(path, name, lines, found, tree)

    @property
    def parsed(self) -> bool:
        """Whether answers come from a parse tree."""
        return self._tree is not None

    def enclosing(self, line: int) -> tuple[Scope, ...]:
        """Signature lines of the scopes containing ``line``, outermost first."""
        if not 1 <= line <= len(self.lines):
            return ()
        if self._grammar is None or self._tree is None or self._in_error(line):
            return self._heuristic().enclosing(line)
        # Past the last statement: where the planner places code deleted at the end of a file.
        line = min(line, self._last_line())
        cursor = QueryCursor(self._grammar.tags)
        cursor.set_point_range((line - 1, 0), (line, 0))
        found: set[int] = set()  # signature lines
        for kind, node, name in _definitions(cursor, self._tree.root_node):
            signature = name.start_point.row + 1
            if kind != "constant" and signature < line <= _end_line(node):
                found.add(signature)
        chain = sorted(found)[-MAX_DEPTH:]
        return tuple((n, self.lines[n - 1].rstrip("\r")) for n in chain)

    def definitions(self) -> tuple[Definition, ...]:
        """Every definition the language's query finds, in file order; methods named so."""
        known = self._memo.get("definitions")
        if isinstance(known, tuple):
            return known
        found: list[Definition] = []
        if self._grammar is not None and self._tree is not None:
            cursor = QueryCursor(self._grammar.tags)
            hosts: list[Definition] = []  # enclosing definitions of the one being read
            for kind, node, name in _definitions(cursor, self._tree.root_node):
                start, end = node.start_point.row + 1, _end_line(node)
                while hosts and hosts[-1].end_line < start:
                    hosts.pop()
                if kind == "function" and hosts and hosts[-1].kind in _METHOD_HOSTS:
                    kind = "method"
                item = Definition(
                    _text(name), kind, name.start_point.row + 1, start, end, _header_end(node, name)
                )
                found.append(item)
                hosts.append(item)
        result = tuple(found)
        self._memo["definitions"] = result
        return result

    def references(self) -> tuple[Reference, ...]:
        """Calls and type uses the language's query finds, in file order."""
        known = self._memo.get("references")
        if isinstance(known, tuple):
            return known
        found: list[Reference] = []
        if self._grammar is not None and self._tree is not None:
            cursor = QueryCursor(self._grammar.tags)
            for _, captures in cursor.matches(self._tree.root_node):
                names = captures.get("name")
                for capture in captures:
                    if capture.startswith("reference.") and names:
                        kind = capture.removeprefix("reference.")
                        found.append(Reference(_text(names[0]), kind, names[0].start_point.row + 1))
        result = tuple(sorted(set(found), key=lambda r: (r.line, r.name, r.kind)))
        self._memo["references"] = result
        return result

    def _last_line(self) -> int:
        last = len(self.lines)
        while last > 1 and not self.lines[last - 1].strip():
            last -= 1
        return last

    def _in_error(self, line: int) -> bool:
        if self._grammar is None or self._tree is None or not self._tree.root_node.has_error:
            return False
        cursor = QueryCursor(self._grammar.errors)
        cursor.set_point_range((line - 1, 0), (line, 0))
        return bool(cursor.captures(self._tree.root_node))

    def _heuristic(self) -> IndentScopes:
        known = self._memo.get("heuristic")
        if isinstance(known, IndentScopes):
            return known
        scan = IndentScopes.from_content(self.path, "\n".join(self.lines))
        self._memo["heuristic"] = scan
        return scan


def _parse(found: Grammar, data: bytes) -> Tree | None:
    """The tree of ``data``, or ``None`` when parsing takes over ``PARSE_SECONDS``."""
    deadline = time.monotonic() + PARSE_SECONDS

    def read(offset: int, _point: object) -> bytes:
        return data[offset : offset + _CHUNK]

    def cancel(_offset: int, _has_error: bool) -> bool:
        return time.monotonic() > deadline

    parser = found.parser()
    try:
        return parser.parse(read, progress_callback=cancel)
    except ValueError:  # cancelled: the parser is left mid-parse
        parser.reset()
        return None


def _definitions(cursor: QueryCursor, root: Node) -> list[tuple[str, Node, Node]]:
    """``(kind, node, name node)`` per definition node, in file order.

    A node matched by several patterns keeps the first pattern's kind, so
    specific patterns go first in a query file.
    """
    seen: dict[tuple[int, int], tuple[int, str, Node, Node]] = {}
    for pattern, captures in cursor.matches(root):
        names = captures.get("name")
        for capture, nodes in captures.items():
            if capture.startswith("definition.") and names:
                node = nodes[0]
                key = (node.start_byte, node.end_byte)
                if key not in seen or seen[key][0] > pattern:
                    seen[key] = (pattern, capture.removeprefix("definition."), node, names[0])
    ordered = sorted(seen.items(), key=lambda item: (item[0][0], -item[0][1]))
    return [(kind, node, name) for _, (_, kind, node, name) in ordered]


def _end_line(node: Node) -> int:
    """The 1-based last line of ``node``; a node ending at a line start ends on the line before."""
    row, column = node.end_point
    return max(node.start_point.row + 1, row + (1 if column else 0))


def _header_end(node: Node, name: Node) -> int:
    """The last signature line of definition ``node``: its parameters' last line, or the
    line a body opened by a brace starts on, whichever is later; at least the name's."""
    end = name.start_point.row + 1
    params = node.child_by_field_name("parameters")
    if params is not None:
        end = max(end, params.end_point.row + 1)
    body = node.child_by_field_name("body")
    if body is not None and (body.text or b"").startswith(b"{"):
        end = max(end, body.start_point.row + 1)
    return min(end, _end_line(node))


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")

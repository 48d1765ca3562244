"""The ``workers`` package imports without cycles.

The graph is read from the source with ``ast``: every ``import`` and ``from``
statement of a ``workers`` module that names another ``workers`` module, at any
depth (a function-level import is a runtime import too), except under
``if TYPE_CHECKING:``, which never runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import workers

ROOT = Path(workers.__file__).parent


def module_name(path: Path) -> str:
    """``workers/review/flow.py`` -> ``workers.review.flow``; a package is its ``__init__``."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, leaving out the bodies of ``if TYPE_CHECKING:`` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(source: str, name: str, modules: set[str], *, package: bool = False) -> set[str]:
    """The ``workers`` modules that module ``name`` (with ``source``) imports when it runs.

    ``from pkg import sub`` names the submodule when ``pkg.sub`` is one, else ``pkg``.
    """
    parent = name if package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = parent.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    paths = sorted(ROOT.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {
        module_name(p): imports_of(
            p.read_text(), module_name(p), modules, package=p.name == "__init__.py"
        )
        for p in paths
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or ``None``."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, edges = stack[-1]
            nxt = next(edges, None)
            if nxt is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
            elif nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in done:
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
                on_path.add(nxt)
    return None


def test_the_workers_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "workers.review.flow" in graph  # the walk found the package
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_imports_under_type_checking_do_not_count_and_function_level_ones_do() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import workers.model.client\n"
        "from workers.review import flow, segments\n"
        "from . import wire\n"
        "if TYPE_CHECKING:\n"
        "    from workers.review.checkrun import ReviewCheckRun\n"
        "def later() -> None:\n"
        "    from workers.review.summary import skip_kind\n"
    )
    modules = {
        "workers.model.client",
        "workers.model.wire",
        "workers.review",
        "workers.review.flow",
        "workers.review.segments",
        "workers.review.checkrun",
        "workers.review.summary",
    }
    assert imports_of(source, "workers.model.probe", modules) == {
        "workers.model.client",
        "workers.model.wire",
        "workers.review.flow",
        "workers.review.segments",
        "workers.review.summary",
    }

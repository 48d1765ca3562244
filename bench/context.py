"""Related code on real release diffs: callers and definitions found, and what they cost.

Usage: python bench/context.py [--budget TOKENS] [rich requests flask fastapi django npm]

For each corpus diff (``tests/support/corpus.py``, plus one npm release pair,
``mobx`` 6.9.0 -> 6.10.0 (TypeScript sources), fetched with ``npm pack`` into ``.cache/corpus``)
it plans the review over the new tree, chooses each segment's related code with
``workers.context.RelatedFinder`` over a ``DirView`` of that tree and prints:

- callers: for every function or method whose signature or return a segment
  changes (``SegmentChanges.reshaped``), its call sites in files the release does
  not change, from an independent index (every file of the tree parsed with
  tree-sitter, every ``call`` reference of that name in a file that does not
  define the name itself); the share of those sites inside a ``caller`` or
  ``test`` item of that segment's context; then the same for the names with at
  most ``FEW`` such sites (a method named ``get`` or ``join`` has thousands of
  "call sites" by name, nearly all of them other functions');
- definitions: the names the segment's changed lines use that are defined in
  another file of the tree (same index) and not by a definition the segment's
  diff itself changes (whose signature the diff shows as an enclosing scope);
  the share with a ``definition`` item;
- context tokens over diff tokens, and the time to choose the context next to
  the time to plan.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.corpus import CORPUS, ROOT, corpus_diff, corpus_trees
from workers.context.changes import SegmentChanges
from workers.context.related import RelatedFinder, changes_defined
from workers.diff import PlanOptions, parse_git_diff, plan_review
from workers.diff.syntax import FileSyntax, language_of
from workers.mirror import DirView

NPM = ("mobx", "6.9.0", "6.10.0")
FEW = 20
_SKIP = {".git", "node_modules", "__pycache__"}


@dataclass
class Index:
    calls: dict[str, list[tuple[str, int]]]  # in files that do not define the name themselves
    defined_in: dict[str, set[str]]


def npm_trees(name: str, old: str, new: str) -> tuple[Path, Path] | None:
    """The two releases' package trees, fetched once with ``npm pack``; None offline."""
    trees = []
    for version in (old, new):
        base = ROOT / f"npm-{name}-{version}"
        tree = base / "tree"
        if not tree.is_dir():
            base.mkdir(parents=True, exist_ok=True)
            try:
                subprocess.run(
                    ["npm", "pack", f"{name}@{version}", "--pack-destination", str(base)],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                print(f"npm unreachable ({type(exc).__name__}): the npm row is left out")
                return None
            (archive,) = base.glob("*.tgz")
            staging = base / "staging"
            shutil.rmtree(staging, ignore_errors=True)
            with tarfile.open(archive) as tf:
                tf.extractall(staging, filter="data")
            (staging / "package").rename(tree)
            staging.rmdir()
        trees.append(tree)
    return trees[0], trees[1]


def tree_diff(old: Path, new: Path) -> bytes:
    result = subprocess.run(
        ["git", "diff", "--no-index", "--no-color", "-M", "--src-prefix=a/",
         "--dst-prefix=b/", ".", str(new)],
        cwd=old, capture_output=True, check=False,
    )  # fmt: skip
    text = result.stdout.replace(("b" + str(new) + "/").encode(), b"b/")
    return text.replace(b"a/./", b"a/").replace((str(new) + "/").encode(), b"")


def build_index(tree: Path, changed: set[str]) -> Index:
    """Call sites in unchanged files, and where each name is defined, over the whole tree."""
    calls: dict[str, list[tuple[str, int]]] = defaultdict(list)
    defined: dict[str, set[str]] = defaultdict(set)
    for folder, dirs, names in os.walk(tree):
        dirs[:] = [d for d in dirs if d not in _SKIP]
        for file in names:
            path = (Path(folder) / file).relative_to(tree).as_posix()
            if language_of(path) is None:
                continue
            data = (tree / path).read_bytes()
            if len(data) > 1_000_000 or b"\0" in data[:8000]:
                continue
            syntax = FileSyntax.from_source(path, data.decode("utf-8", "replace"))
            own = set()
            for d in syntax.definitions():
                if d.kind != "object":
                    defined[d.name].add(path)
                if d.kind in ("function", "method"):
                    own.add(d.name)
            if path not in changed:
                for r in syntax.references():
                    if r.kind == "call" and r.name not in own:
                        calls[r.name].append((path, r.line))
    return Index(dict(calls), dict(defined))


def measure(label: str, old: Path, new: Path, raw: bytes, budget: int) -> dict[str, object]:
    files = parse_git_diff(raw)
    heads = DirView(new).read([f.path for f in files if f.status != "removed"])
    started = time.perf_counter()
    plan = plan_review(files, heads, PlanOptions())
    planned = time.perf_counter()
    finder = RelatedFinder(DirView(new), plan.files, heads, budget=budget)
    contexts = finder.for_plan(plan)
    chosen = time.perf_counter()
    changed = set(plan.files) | {f.old_path for f in files if f.old_path}
    index = build_index(new, changed)
    syntaxes = {p: FileSyntax.from_source(p, t) for p, t in heads.items() if p in plan.files}
    sites = covered = names = found = few_sites = few_covered = 0
    for segment, context in zip(plan.segments, contexts, strict=True):
        changes = SegmentChanges.of(segment, plan.files, syntaxes)
        shown = [i for i in context.items if i.kind in ("caller", "test")]
        for _, d in changes.reshaped:
            if d.name.startswith("__") and d.name.endswith("__"):
                continue  # called through the class or an operator, not by name
            calls = index.calls.get(d.name, ())
            hit = sum(any(i.covers(path, line) for i in shown) for path, line in calls)
            sites, covered = sites + len(calls), covered + hit
            if len(calls) <= FEW:
                few_sites, few_covered = few_sites + len(calls), few_covered + hit
        defs = {i.symbol for i in context.items if i.kind == "definition"}
        in_diff = changes_defined(changes)
        for name, user in changes.used.items():
            if index.defined_in.get(name, set()) - {user} and name not in in_diff:
                names += 1
                found += name in defs
    context_tokens = sum(c.tokens for c in contexts)
    return {
        "diff": label,
        "segments": len(plan.segments),
        "reshaped call sites": sites,
        "as caller": f"{covered / sites:.0%}" if sites else "-",
        f"sites of names with <={FEW}": few_sites,
        "as caller ": f"{few_covered / few_sites:.0%}" if few_sites else "-",
        "names defined elsewhere": names,
        "as definition": f"{found / names:.0%}" if names else "-",
        "context tokens": context_tokens,
        "of diff tokens": f"{context_tokens / max(1, plan.totals.diff_tokens):.1%}",
        "left out": sum(c.left_out for c in contexts),
        "plan s": round(planned - started, 2),
        "context s": round(chosen - planned, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=int, default=3_000)
    parser.add_argument(
        "--npm", nargs=3, default=NPM, metavar=("NAME", "OLD", "NEW"), help="the npm pair"
    )
    parser.add_argument("names", nargs="*", default=[*CORPUS, "npm"])
    args = parser.parse_args()
    rows = []
    for name in args.names:
        if name == "npm":
            name, old_version, new_version = args.npm
            trees = npm_trees(name, old_version, new_version)
            if trees is None:
                continue
            raw = tree_diff(*trees)
            label = f"{name} {old_version}->{new_version}"
            rows.append(measure(label, *trees, raw, args.budget))
        else:
            old, new = corpus_trees(name)
            release = CORPUS[name]
            label = f"{name} {release.old}->{release.new}"
            rows.append(measure(label, old, new, corpus_diff(name), args.budget))
        print(rows[-1], flush=True)
    print(f"\nbudget: {args.budget} context tokens per segment\n")
    keys = list(rows[0]) if rows else []
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(str(row[k]) for k in keys))


if __name__ == "__main__":
    main()

"""A small repository with a change whose callers, definitions and tests live elsewhere."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from workers.diff import FileDiff, PlanOptions, ReviewPlan, parse_git_diff, plan_review

OLD = {
    "pkg/core.py": (
        "from pkg.helpers import clamp\n"
        "from pkg.consts import MAX_ITEMS\n"
        "\n"
        "\n"
        "def total(items):\n"
        "    return sum(items)\n"
    ),
    "pkg/helpers.py": (
        "def clamp(value, low, high):\n"
        '    """Keep value within [low, high]."""\n'
        "    return max(low, min(value, high))\n"
    ),
    "pkg/consts.py": "MAX_ITEMS = 100\n",
    "pkg/report.py": (
        "from pkg.core import total\n"
        "\n"
        "\n"
        "def report(rows):\n"
        "    amount = total(rows)\n"
        "    return f'{amount:.2f}'\n"
    ),
    "tests/test_core.py": (
        "from pkg.core import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
    ),
    "docs/notes.md": "total is documented here\n",
}
NEW_CORE = (
    "from pkg.helpers import clamp\n"
    "from pkg.consts import MAX_ITEMS\n"
    "\n"
    "\n"
    "def total(items, tax):\n"
    "    count = clamp(len(items), 0, MAX_ITEMS)\n"
    "    return sum(items[:count]) * (1 + tax)\n"
)


@dataclass(frozen=True)
class Checkout:
    root: Path
    files: tuple[FileDiff, ...]
    contents: dict[str, str]
    plan: ReviewPlan


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    for path, text in OLD.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "old")
    (root / "pkg/core.py").write_text(NEW_CORE)
    files = tuple(parse_git_diff(_git(root, "diff")))
    contents = {"pkg/core.py": NEW_CORE}
    return Checkout(root, files, contents, plan_review(files, contents, PlanOptions()))


@pytest.fixture
def diff_file(checkout: Checkout, tmp_path: Path) -> Path:
    path = tmp_path / "change.diff"
    path.write_bytes(_git(checkout.root, "diff"))
    return path

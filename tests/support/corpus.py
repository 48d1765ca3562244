"""Real diffs between consecutive sdist releases, built on first use and cached.

``corpus_diff(name)`` downloads both sdists with pip into ``.cache/corpus/``,
extracts them, and runs ``git diff --no-index`` between the two trees with
paths made repository-relative (``a/x`` and ``b/x``). Later calls read the
cached diff. The new tree stays next to it for head contents.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2] / ".cache" / "corpus"


@dataclass(frozen=True, slots=True)
class Release:
    name: str
    old: str
    new: str


CORPUS: Final = {
    "rich": Release("rich", "13.6.0", "13.7.0"),
    "requests": Release("requests", "2.31.0", "2.32.3"),
    "flask": Release("flask", "2.3.3", "3.0.0"),
    "fastapi": Release("fastapi", "0.109.0", "0.110.0"),
    "django": Release("Django", "4.2", "5.0"),
}


def _sdist(name: str, version: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    found = [p for p in into.iterdir() if p.name.lower().startswith(name.lower().replace("-", "_"))]
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--disable-pip-version-check",
                f"{name}=={version}",
                "-d",
                str(into),
            ],
            check=True,
        )
        found = list(into.iterdir())
    return found[0]


def _tree(name: str, version: str) -> Path:
    base = ROOT / f"{name.lower()}-{version}"
    tree = base / "tree"
    if tree.is_dir():
        return tree
    archive = _sdist(name, version, base / "sdist")
    staging = base / "staging"
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(staging)  # noqa: S202 - pinned sdists from PyPI
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(staging, filter="data")
    (top,) = list(staging.iterdir())
    top.rename(tree)
    staging.rmdir()
    return tree


def corpus_trees(key: str) -> tuple[Path, Path]:
    release = CORPUS[key]
    return _tree(release.name, release.old), _tree(release.name, release.new)


def corpus_diff(key: str) -> bytes:
    """The cached ``git diff --no-index`` output for a corpus entry (built on first use)."""
    cached = ROOT / f"{key}.diff"
    if cached.is_file():
        return cached.read_bytes()
    old, new = corpus_trees(key)
    result = subprocess.run(
        [
            "git",
            "diff",
            "--no-index",
            "--no-color",
            "--no-ext-diff",
            "-M",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            ".",
            str(new),
        ],
        cwd=old,
        capture_output=True,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise RuntimeError(result.stderr.decode(errors="replace"))
    text = result.stdout.replace(("b" + str(new) + "/").encode(), b"b/")
    text = text.replace(b"a/./", b"a/")
    cached.write_bytes(text)
    return text


def head_contents(key: str, paths: list[str]) -> dict[str, str]:
    _, new = corpus_trees(key)
    out: dict[str, str] = {}
    for path in paths:
        file = new / path
        if file.is_file():
            out[path] = file.read_bytes().decode("utf-8", errors="replace")
    return out

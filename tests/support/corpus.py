"""Real diffs between consecutive sdist releases, built on first use and cached.

``corpus_diff(name)`` downloads both sdists with pip into ``.cache/corpus/``,
extracts them, and runs ``git diff --no-index`` between the two trees with
paths made repository-relative (``a/x`` and ``b/x``). Later calls read the
cached diff. The new tree stays next to it for head contents.

Downloads are retried with backoff and land in a ``.partial`` folder renamed
when complete; a failure raises ``CorpusUnavailable`` naming the command to
run by hand.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2] / ".cache" / "corpus"
ATTEMPTS: Final = 3
BACKOFF_SECONDS: Final = 2.0


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


class CorpusUnavailable(RuntimeError):
    """A corpus release could not be downloaded or unpacked; the message says how to retry."""


def _download(name: str, version: str, into: Path) -> None:
    """``pip download`` the sdist into ``into``, retrying with backoff."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        "--retries",
        "3",
        "--timeout",
        "60",
        f"{name}=={version}",
        "-d",
        str(into),
    ]
    errors: list[str] = []
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode == 0 and _archives(into):
            return
        errors.append(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "")
    raise CorpusUnavailable(
        f"could not download the sdist of {name}=={version} after {ATTEMPTS} attempts "
        f"(last error: {errors[-1] or 'no archive'}). Run `{' '.join(command)}` by hand "
        f"to see why, or copy the sdist into {into}."
    )


def _archives(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith((".tar.gz", ".zip", ".tgz")))


def _sdist(name: str, version: str, into: Path) -> Path:
    found = _archives(into)
    if not found:
        # Download next to the final folder and rename, so a killed run leaves no half file.
        partial = into.with_name(into.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        _download(name, version, partial)
        shutil.rmtree(into, ignore_errors=True)
        partial.rename(into)
        found = _archives(into)
    return found[0]


def _tree(name: str, version: str) -> Path:
    base = ROOT / f"{name.lower()}-{version}"
    tree = base / "tree"
    if tree.is_dir():
        return tree
    archive = _sdist(name, version, base / "sdist")
    staging = base / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(staging)  # noqa: S202 - pinned sdists from PyPI
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(staging, filter="data")
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        archive.unlink(missing_ok=True)  # a damaged download is fetched again next time
        message = f"cannot unpack {archive}: {exc}; run again to re-download"
        raise CorpusUnavailable(message) from exc
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
    # --no-index ignores the prefixes on rename and copy lines, which name the
    # trees' own paths: make every path relative so the diff is the same wherever
    # the cache lives.
    text = result.stdout.replace(("b" + str(new) + "/").encode(), b"b/")
    text = text.replace(b"a/./", b"a/").replace((str(new) + "/").encode(), b"")
    text = text.replace(b"rename from ./", b"rename from ").replace(b"copy from ./", b"copy from ")
    partial = cached.with_name(cached.name + ".partial")
    partial.write_bytes(text)
    partial.replace(cached)
    return text


def head_contents(key: str, paths: list[str]) -> dict[str, str]:
    _, new = corpus_trees(key)
    out: dict[str, str] = {}
    for path in paths:
        file = new / path
        if file.is_file():
            out[path] = file.read_bytes().decode("utf-8", errors="replace")
    return out

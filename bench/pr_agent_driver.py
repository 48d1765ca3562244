"""Run PR-Agent's prompt building over one corpus diff, offline, and print one JSON line.

Runs inside PR-Agent's own virtual environment (Python 3.12+), started by
``bench/segment.py``:

    python bench/pr_agent_driver.py DIFF OLD_TREE NEW_TREE

The diff is split into per-file patches the way GitHub's files API returns
them, with base and head contents read from the two trees. A fake git provider
hands them to ``get_pr_diff`` and ``get_pr_multi_diffs`` from
``pr_agent.algo.pr_processing``; nothing calls a model or the network
(``TIKTOKEN_CACHE_DIR`` must hold the ``o200k_base`` file). Wall time covers
the two calls; peak RSS is this process's.
"""

from __future__ import annotations

import json
import logging
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

MODEL = "gpt-5.2-codex"  # an o200k_base model PR-Agent knows; its window is capped by config
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@", re.MULTILINE)


def _path(name: str) -> str:
    return name[2:] if name.startswith(("a/", "b/")) else name


def split_diff(text: str) -> list[dict[str, Any]]:
    """Per-file records: paths, status and the ``patch`` (hunks only, as GitHub sends it)."""
    files = []
    for chunk in re.split(r"^(?=diff --git )", text, flags=re.MULTILINE):
        if not chunk.startswith("diff --git "):
            continue
        header, _, _ = chunk.partition("\n@@")
        old = new = None
        status = "modified"
        for line in header.splitlines():
            if line.startswith("--- ") and line != "--- /dev/null":
                old = _path(line[4:].rstrip("\t"))
            elif line.startswith("+++ ") and line != "+++ /dev/null":
                new = _path(line[4:].rstrip("\t"))
            elif line.startswith("new file mode"):
                status = "added"
            elif line.startswith("deleted file mode"):
                status = "removed"
            elif line.startswith("rename from "):
                status, old = "renamed", line[len("rename from ") :]
            elif line.startswith("rename to "):
                new = line[len("rename to ") :]
        if old is None and new is None:
            first = chunk.split("\n", 1)[0][len("diff --git ") :]
            old = new = _path(first.split(" ", 1)[0])
        match = _HUNK.search(chunk)
        patch = chunk[match.start() :] if match else ""
        files.append({"old": old or new, "new": new or old, "status": status, "patch": patch})
    return files


class FakeProvider:
    """The three provider methods prompt building calls, over files already in memory."""

    def __init__(self, files: list[Any]) -> None:
        self._files = files

    def get_diff_files(self) -> list[Any]:
        return self._files

    def get_languages(self) -> dict[str, int]:
        return {"Python": 100}

    def get_filtered_diff_file_names(self) -> list[str]:
        return []


def _read(tree: Path, path: str | None) -> str:
    if path is None:
        return ""
    file = tree / path
    return file.read_bytes().decode("utf-8", errors="replace") if file.is_file() else ""


def main() -> None:
    diff_path, old_tree, new_tree = (Path(a) for a in sys.argv[1:4])
    logging.disable(logging.CRITICAL)
    from pr_agent.algo.pr_processing import get_pr_diff, get_pr_multi_diffs
    from pr_agent.algo.token_handler import TokenHandler
    from pr_agent.algo.types import EDIT_TYPE, FilePatchInfo
    from pr_agent.config_loader import get_settings

    get_settings().set("config.model", MODEL)
    get_settings().set("config.fallback_models", [])
    get_settings().set("config.enable_ai_metadata", False)
    kinds = {
        "added": EDIT_TYPE.ADDED,
        "removed": EDIT_TYPE.DELETED,
        "renamed": EDIT_TYPE.RENAMED,
        "modified": EDIT_TYPE.MODIFIED,
    }
    records = split_diff(diff_path.read_bytes().decode("utf-8", errors="replace"))
    files = []
    for rec in records:
        lines = rec["patch"].splitlines()
        files.append(
            FilePatchInfo(
                base_file="" if rec["status"] == "added" else _read(old_tree, rec["old"]),
                head_file="" if rec["status"] == "removed" else _read(new_tree, rec["new"]),
                patch=rec["patch"],
                filename=rec["new"],
                edit_type=kinds[rec["status"]],
                old_filename=rec["old"] if rec["status"] == "renamed" else None,
                num_plus_lines=sum(1 for ln in lines if ln.startswith("+")),
                num_minus_lines=sum(1 for ln in lines if ln.startswith("-")),
            )
        )
    provider = FakeProvider(files)
    handler = TokenHandler()  # loads the tokenizer before timing, as our side does
    handler.count_tokens("warm up")

    start = time.perf_counter()
    single = get_pr_diff(provider, handler, MODEL, add_line_numbers_to_hunks=True)
    multi = get_pr_multi_diffs(provider, handler, MODEL, max_calls=5, return_coverage=True)
    seconds = time.perf_counter() - start

    chunks = list(multi.chunks)
    omitted = set(multi.remaining_files_list or [])
    clipped = set(multi.partial_files_list or [])
    changed = {f.filename: f.num_plus_lines + f.num_minus_lines for f in files if f.patch}
    covered = {
        name: n for name, n in changed.items() if name not in omitted and name not in clipped
    }
    # Files named in any chunk: PR-Agent prints "## File: 'path'" before each patch.
    shown = {m for chunk in chunks for m in re.findall(r"## File: '([^']*)'", chunk)}
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "single_diff_tokens": handler.count_tokens(single),
                "chunks": len(chunks),
                "prompt_tokens": sum(handler.count_tokens(c) for c in chunks),
                "files_with_patch": len(changed),
                "files_shown": len(shown & set(changed)),
                "files_omitted": len(omitted & set(changed)),
                "files_clipped": len(clipped & set(changed)),
                "changed_lines": sum(changed.values()),
                "changed_lines_in_whole_files": sum(
                    n for name, n in covered.items() if name in shown
                ),
            }
        )
    )


if __name__ == "__main__":
    main()

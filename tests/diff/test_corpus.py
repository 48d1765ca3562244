"""Golden tests over real release diffs: rich, requests, flask, fastapi and Django.

The diffs are built from PyPI sdists on first use and cached (``tests/support/corpus.py``);
nothing third-party is committed. What we commit in ``golden/<name>.json`` is our own
summary of the plan: totals, skip reasons, per-file segment and line counts, and a
SHA-256 of every rendered prompt. Besides matching it, each plan must cover every
reviewable changed line, keep prompt tokens at or under the raw diff's, count tokens
exactly, and show every numbered line exactly as it is in the head file.

To accept a deliberate change of output: ``UPDATE_GOLDEN=1 pytest tests/diff/test_corpus.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.corpus import CORPUS, corpus_diff, head_contents
from workers.diff import tokens
from workers.diff.patch import parse_git_diff
from workers.diff.plans import PlanOptions, ReviewPlan
from workers.diff.segment import plan_review
from workers.prompts.render import PullContext, render_prompt

GOLDEN = Path(__file__).parent / "golden"
_NUMBERED = re.compile(r"(\d+)([ +:])(.*)")


def summary(key: str, plan: ReviewPlan) -> dict[str, Any]:
    files: dict[str, list[int]] = {}
    for segment in plan.segments:
        for part in segment.files:
            entry = files.setdefault(part.path, [0, 0])
            entry[0] += 1
            entry[1] += part.changed_lines
    pull = PullContext(f"corpus/{key}", title=f"{key} {CORPUS[key].old} -> {CORPUS[key].new}")
    prompts = hashlib.sha256()
    for segment in plan.segments:
        prompt = render_prompt(segment, pull, {}, parts=len(plan.segments))
        prompts.update(prompt.instructions.encode() + b"\0" + prompt.input.encode() + b"\0")
    totals = plan.totals
    return {
        "release": f"{CORPUS[key].name} {CORPUS[key].old} -> {CORPUS[key].new}",
        "totals": {
            "files": totals.files,
            "reviewable_files": totals.reviewable_files,
            "changed_lines": totals.changed_lines,
            "covered_changed_lines": totals.covered_changed_lines,
            "diff_tokens": totals.diff_tokens,
            "prompt_tokens": totals.prompt_tokens,
        },
        "segments": [[s.tokens, s.changed_lines, len(s.files)] for s in plan.segments],
        "context_lines": sum(s.context_lines for s in plan.segments),
        "skipped": dict(sorted(Counter(s.reason for s in plan.skipped).items())),
        "files": dict(sorted(files.items())),
        "prompts_sha256": prompts.hexdigest(),
    }


def dump(data: dict[str, Any]) -> str:
    """Indented JSON with each list of numbers on one line, so diffs of the golden stay short."""
    text = json.dumps(data, indent=1)
    return (
        re.sub(r"\[\s+([\d,\s]+?)\s+\]", lambda m: "[" + " ".join(m[1].split()) + "]", text) + "\n"
    )


@pytest.mark.parametrize("key", list(CORPUS))
def test_corpus_plan_matches_golden_and_invariants(key: str) -> None:
    raw = corpus_diff(key)
    files = parse_git_diff(raw)
    heads = head_contents(key, [f.path for f in files if not f.is_deleted])
    options = PlanOptions(total_tokens=10**9)
    plan = plan_review(files, heads, options)

    assert plan.totals.covered_changed_lines == plan.totals.changed_lines
    assert not plan.not_reviewed
    assert plan.totals.prompt_tokens <= plan.totals.diff_tokens
    assert sum(tokens.count(s.text) for s in plan.segments) == plan.totals.prompt_tokens
    split: dict[str, list[str]] = {}
    for segment in plan.segments:
        assert segment.tokens <= options.segment_tokens
        head: list[str] = []
        for line in segment.text.split("\n")[:-1]:
            if line.startswith("=== "):
                path = next(f.path for f in segment.files if line[4:].startswith(f.path))
                head = split.setdefault(path, heads[path].split("\n"))
                continue
            numbered = _NUMBERED.fullmatch(line)
            if numbered is None:
                assert line.startswith(("-", "@@")), line
                continue
            # Every cited number points at exactly that text in the head file.
            assert head[int(numbered[1]) - 1].rstrip("\r") == numbered[3], (path, line)

    got = summary(key, plan)
    golden = GOLDEN / f"{key}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(dump(got), encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert got["totals"] == expected["totals"]
    assert got["skipped"] == expected["skipped"]
    assert got["files"] == expected["files"]
    assert got == expected

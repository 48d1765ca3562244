"""Prompt tokens per review segment over the real-release diff corpus, and what they cost.

Usage: python bench/tokens_per_segment.py [rich requests flask fastapi django]
Plans each corpus diff, renders every segment's prompt, and prints the distribution
of input tokens per segment and the input cost at the default price table (the
shared rubric billed as cached input after the first segment).
"""

from __future__ import annotations

import statistics
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.corpus import CORPUS, corpus_diff, head_contents
from workers.diff import tokens
from workers.diff.patch import parse_git_diff
from workers.diff.plans import PlanOptions
from workers.diff.segment import plan_review
from workers.model import PriceTable, Usage
from workers.prompts.render import PullContext, render_prompt


def main(keys: list[str]) -> None:
    prices = PriceTable.default()
    print(
        f"{'diff':10} {'segments':>8} {'min':>6} {'median':>7} {'p90':>6} {'max':>6} "
        f"{'total':>8} {'rubric':>6} {'mini_input_usd':>14}"
    )
    for key in keys:
        raw = corpus_diff(key)
        files = parse_git_diff(raw)
        heads = head_contents(key, [f.path for f in files])
        plan = plan_review(files, heads, PlanOptions())
        pull = PullContext(f"corpus/{key}", title=f"{key} release")
        prompts = [
            render_prompt(segment, pull, {}, parts=len(plan.segments)) for segment in plan.segments
        ]
        counts = sorted(p.input_tokens for p in prompts)
        if not counts:
            print(f"{key:10} no segments")
            continue
        rubric = tokens.count(prompts[0].instructions)
        cost = sum(
            (
                prices.cost(
                    "gpt-5-codex-mini",
                    Usage(input_tokens=p.input_tokens, cached_tokens=rubric if i else 0),
                )
                for i, p in enumerate(prompts)
            ),
            Decimal(0),
        )
        p90 = counts[min(len(counts) - 1, int(len(counts) * 0.9))]
        print(
            f"{key:10} {len(counts):>8} {counts[0]:>6} {int(statistics.median(counts)):>7} "
            f"{p90:>6} {counts[-1]:>6} {sum(counts):>8} {rubric:>6} {cost:>14.4f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:] or list(CORPUS))

"""A worker process for the shared-limit test: reviews segments from several threads.

Usage: ``python -m tests.model.limit_worker BASE_URL REDIS_URL PREFIX CALLS THREADS TOKENS``
(``TOKENS``: the prompt's input tokens as the emulator counts them). Prints one JSON
line: the status of every call. It imports only the client, so it starts fast.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import redis
from pydantic import SecretStr

from workers.model import CallContext, LimiterSettings, ModelClient, ModelConfig, review_segment

WINDOW = 0.5
TOKENS_PER_WINDOW = 1000
MAX_CONCURRENCY = 2
MAX_OUTPUT = 200
INSTRUCTIONS = "Review this diff."
INPUT = "+x = 1\n"


@dataclass(frozen=True)
class Prompt:
    instructions: str
    input: str
    cache_key: str
    input_tokens: int


def main(base_url: str, redis_url: str, prefix: str, calls: int, threads: int, tokens: int) -> None:
    config = ModelConfig(
        keys=(SecretStr("sk-test-0"),),
        base_url=base_url,
        escalation_model=None,
        max_output_tokens=MAX_OUTPUT,
        redis_prefix=prefix,
        limiter=LimiterSettings(
            max_concurrency=MAX_CONCURRENCY,
            tokens_per_window=TOKENS_PER_WINDOW,
            window_seconds=WINDOW,
            poll_seconds=0.01,
            max_wait_seconds=60,
        ),
    )
    store: redis.Redis[bytes] = redis.Redis.from_url(redis_url)
    with httpx.Client(timeout=10) as http:
        client = ModelClient(config, http=http, redis_client=store)
        prompt = Prompt(INSTRUCTIONS, INPUT, "rubric", tokens)
        call = CallContext(1, "octo/widgets", 1, "a" * 40, "d")
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(lambda _: review_segment(client, prompt, call), range(calls)))
    store.close()
    print(json.dumps([r.status for r in results]))


if __name__ == "__main__":
    url, redis_url, prefix, calls, threads, tokens = sys.argv[1:7]
    main(url, redis_url, prefix, int(calls), int(threads), int(tokens))

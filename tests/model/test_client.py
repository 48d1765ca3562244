"""The real client against the served emulator and a throwaway Redis, scenario by scenario."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from codex_common.logs import configure_logging
from tests.emulators.openai import (
    Answer,
    ResponsesEmulator,
    error,
    findings,
    function_call,
    incomplete,
    quota_exhausted,
    rate_limited,
    slow,
    text,
)
from tests.model.helpers import CALL, FINDING, FakeClock, Prompt, make_client, make_config
from workers.model import AzureSettings, ModelConfig, PriceTable, review_segment
from workers.model.errors import NoUsableKey
from workers.model.retry import RetryPolicy
from workers.redis_server import RedisServer

PROMPT = Prompt.of("diff --git a/app.py b/app.py\n+x = 1\n+y = 2\n")


@pytest.fixture
def env(
    openai_emulator: ResponsesEmulator, model_redis: RedisServer, model_prefix: str
) -> tuple[ResponsesEmulator, str, str]:
    return openai_emulator, model_redis.url, model_prefix


Env = tuple[ResponsesEmulator, str, str]


def _bodies(emulator: ResponsesEmulator) -> list[dict[str, Any]]:
    return [r.body for r in emulator.requests]


def test_review_sends_the_documented_request_and_records_usage(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(findings([FINDING]))
    config = make_config(emulator, prefix, service_tier="flex")
    client = make_client(config, redis_url)
    # Only a shared prefix of 1,024 tokens or more is cached: a long rubric.
    prompt = Prompt.of(PROMPT.input, instructions="Review this diff by the rubric.\n" * 160)

    first = review_segment(client, prompt, CALL)
    second = review_segment(client, prompt, CALL)

    assert first.status == "ok"
    assert first.error is None
    assert [f.title for f in first.findings] == [FINDING["title"]]
    assert first.model == "gpt-5-codex-mini"
    assert not first.escalated
    body = emulator.requests[0].body
    assert body["model"] == "gpt-5-codex-mini"
    assert body["instructions"] == prompt.instructions
    assert body["input"] == [{"role": "user", "content": prompt.input}]
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["strict"] is True
    assert body["text"]["format"]["schema"]["required"] == ["findings", "needs_deeper_analysis"]
    assert body["reasoning"] == {"effort": "low"}
    assert body["truncation"] == "disabled"
    assert body["stream"] is True
    assert body["store"] is False
    assert body["service_tier"] == "flex"
    assert body["prompt_cache_key"] == "rubric-v1"
    assert body["metadata"]["repository"] == "octo/widgets"
    assert body["metadata"]["pr_number"] == "7"
    assert "temperature" not in body
    assert "tools" not in body

    # The call sequence: usage, cost and request ids, per call and per PR / installation.
    recorded = client.ledger.calls_for_pr("octo/widgets", 7)
    assert [c.request_id for c in recorded] == [r.request_id for r in emulator.requests]
    assert first.request_ids == (emulator.requests[0].request_id,)
    assert recorded[0].usage == first.usage
    assert first.usage.input_tokens == prompt.input_tokens
    assert first.usage.reasoning_tokens == 32
    assert first.usage.cached_tokens == 0
    assert second.usage.cached_tokens > 0  # the shared rubric hit the prompt cache
    # Billed at the tier the response names: Flex is half the standard price.
    assert first.cost_usd == config.prices.cost("gpt-5-codex-mini", first.usage, "flex")
    assert first.cost_usd * 2 == config.prices.cost("gpt-5-codex-mini", first.usage)
    assert second.cost_usd < first.cost_usd
    totals = client.ledger.usage_for_pr("octo/widgets", 7)
    assert totals.calls == 2
    assert totals.cost_usd == first.cost_usd + second.cost_usd
    assert totals.usage == first.usage + second.usage
    assert client.ledger.usage_for_installation(42).cost_usd == totals.cost_usd


def test_429_storm_is_retried_with_the_server_waits(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(rate_limited(retry_after_ms=1500), times=1)
    emulator.add(rate_limited(retry_after="2", reset_tokens=None), times=1)
    emulator.add(rate_limited(retry_after_ms=None, reset_tokens="6s"), times=1)
    emulator.add(findings([]))
    clock = FakeClock()
    client = make_client(make_config(emulator, prefix), redis_url, clock)

    review = review_segment(client, PROMPT, CALL)

    assert review.status == "ok"
    assert clock.sleeps == [1.5, 2.0, 6.0]
    assert review.retries == 3
    assert review.waited_seconds == pytest.approx(9.5)
    assert len(review.request_ids) == 4  # failed attempts keep their request ids too


def test_retries_stop_at_max_attempts(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(error(500, "The server had an error.", type_="server_error"))
    clock = FakeClock()
    config = make_config(emulator, prefix, retry=RetryPolicy(max_attempts=3, base_delay=0.5))
    review = review_segment(make_client(config, redis_url, clock), PROMPT, CALL)

    assert review.status == "failed"
    assert review.error is not None
    assert "ServerError" in review.error
    assert len(emulator.requests) == 3
    assert len(clock.sleeps) == 2
    assert all(0 <= s <= 0.5 * 2**i for i, s in enumerate(clock.sleeps))


def test_a_wait_beyond_the_total_budget_is_not_slept(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(rate_limited(reset_requests="6m0s", reset_tokens=None))
    clock = FakeClock()
    review = review_segment(
        make_client(make_config(emulator, prefix), redis_url, clock), PROMPT, CALL
    )
    assert review.status == "failed"
    assert clock.sleeps == []
    assert len(emulator.requests) == 1


def test_server_errors_then_success(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(error(503, "Slow down.", type_="server_error"), times=1)
    emulator.add(error(500, "Oops.", type_="server_error"), times=1)
    emulator.add(findings([FINDING]))
    review = review_segment(make_client(make_config(emulator, prefix), redis_url), PROMPT, CALL)
    assert review.status == "ok"
    assert len(review.findings) == 1
    assert [r.status_code for r in emulator.requests] == [503, 500, 200]


def test_timeouts_are_retried(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(slow(1.0), times=1)
    emulator.add(findings([FINDING]))
    config = make_config(emulator, prefix, read_timeout=0.3)
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "ok"
    assert review.retries == 1


def test_quota_exhaustion_is_not_retried_and_a_pool_with_no_key_left_says_so(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(quota_exhausted())
    clock = FakeClock()
    client = make_client(make_config(emulator, prefix), redis_url, clock)
    with pytest.raises(NoUsableKey) as raised:
        review_segment(client, PROMPT, CALL)
    assert "key 1 (insufficient_quota)" in str(raised.value)
    assert "OPENAI_API_KEY" in str(raised.value)
    assert len(emulator.requests) == 1
    assert clock.sleeps == []
    # The next call pays nothing: the key stays parked.
    with pytest.raises(NoUsableKey):
        review_segment(client, PROMPT, CALL)
    assert len(emulator.requests) == 1


def test_quota_exhausted_key_is_parked_and_the_next_key_used(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(quota_exhausted(), key="sk-test-0")
    emulator.add(findings([]))
    config = make_config(emulator, prefix, keys=("sk-test-0", "sk-test-1"))
    client = make_client(config, redis_url)
    assert review_segment(client, PROMPT, CALL).status == "ok"
    assert review_segment(client, PROMPT, CALL).status == "ok"
    # key 0 at most once (if it was chosen first), never again once parked
    keys = [r.key for r in emulator.requests]
    assert keys.count("sk-test-0") <= 1
    assert keys[-2:] == ["sk-test-1", "sk-test-1"]


def test_key_with_most_remaining_capacity_is_chosen(env: Env) -> None:
    emulator, redis_url, prefix = env
    from tests.emulators.openai import KeyLimits

    emulator.limit("sk-test-0", KeyLimits(tokens_per_window=200_000))
    emulator.limit("sk-test-1", KeyLimits(tokens_per_window=100_000))
    config = make_config(emulator, prefix, keys=("sk-test-0", "sk-test-1"))
    client = make_client(config, redis_url)
    for _ in range(4):
        assert review_segment(client, PROMPT, CALL).status == "ok"
    keys = [r.key for r in emulator.requests]
    # Once both keys reported their remaining tokens, the larger pool keeps winning.
    assert keys[2:] == ["sk-test-0", "sk-test-0"]


def test_temperature_is_never_sent_to_reasoning_models(env: Env) -> None:
    emulator, redis_url, prefix = env
    config = make_config(emulator, prefix, temperature=0.2)
    assert review_segment(make_client(config, redis_url), PROMPT, CALL).status == "ok"
    assert [r.status_code for r in emulator.requests] == [200]
    assert "temperature" not in emulator.requests[0].body


def test_a_temperature_refusal_without_a_code_is_recognised_and_remembered(env: Env) -> None:
    emulator, redis_url, prefix = env
    # A refusal as reported in the wild: status 400, param "temperature", code null.
    emulator.models.add("house-model")
    emulator.add(error(400, "temperature is not supported", param="temperature"), times=1)
    prices = PriceTable.from_json(
        '{"house-model": {"input": 1, "cached_input": 0.1, "output": 2}}',
        base=PriceTable.default(),
    )
    config = make_config(emulator, prefix, temperature=0.2, model="house-model", prices=prices)
    client = make_client(config, redis_url)
    assert review_segment(client, PROMPT, CALL).status == "ok"
    assert review_segment(client, PROMPT, CALL).status == "ok"
    statuses = [r.status_code for r in emulator.requests]
    assert statuses == [400, 200, 200]
    assert ["temperature" in b for b in _bodies(emulator)] == [True, False, False]
    # Another worker sharing the Redis learns it without paying the 400.
    other = make_client(config, redis_url)
    assert review_segment(other, PROMPT, CALL).status == "ok"
    assert "temperature" not in emulator.requests[-1].body


def test_incomplete_is_retried_with_a_larger_budget(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(incomplete(), times=1)
    emulator.add(findings([FINDING]))
    config = make_config(emulator, prefix, max_output_tokens=1000)
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "ok"
    assert [b["max_output_tokens"] for b in _bodies(emulator)] == [1000, 2000]


def test_a_cut_off_answer_is_grown_to_the_ceiling_before_it_is_reported_for_splitting(
    env: Env,
) -> None:
    emulator, redis_url, prefix = env
    emulator.add(incomplete())
    config = make_config(
        emulator,
        prefix,
        escalation_model="gpt-5.4",
        max_output_tokens=1000,
        escalation_max_output_tokens=1000,
        max_output_tokens_ceiling=3000,
    )
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "incomplete"
    assert review.error == "incomplete: max_output_tokens"
    # Doubled up to the ceiling; no escalation: the pipeline splits the segment.
    assert [b["max_output_tokens"] for b in _bodies(emulator)] == [1000, 2000, 3000]


def test_malformed_json_gets_one_repair(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(text('{"findings": [oops'), times=1)
    emulator.add(findings([FINDING]))
    review = review_segment(make_client(make_config(emulator, prefix), redis_url), PROMPT, CALL)
    assert review.status == "ok"
    repair = emulator.requests[1].body["input"]
    assert repair[0] == {"role": "user", "content": PROMPT.input}
    assert repair[-2]["type"] == "message"  # the rejected answer, replayed
    assert repair[-1]["role"] == "user"
    assert "rejected" in repair[-1]["content"]


def test_schema_violation_twice_fails_the_segment(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(findings([{**FINDING, "priority": 9}]))
    review = review_segment(make_client(make_config(emulator, prefix), redis_url), PROMPT, CALL)
    assert review.status == "failed"
    assert review.findings == ()
    assert review.error is not None
    assert "priority" in review.error
    assert len(emulator.requests) == 2
    # Both calls were paid for and are on the books.
    assert client_calls(redis_url, prefix) == 2


def client_calls(redis_url: str, prefix: str) -> int:
    config = make_config_for_ledger(prefix)
    return make_client(config, redis_url).ledger.usage_for_pr("octo/widgets", 7).calls


def make_config_for_ledger(prefix: str) -> ModelConfig:
    return ModelConfig(keys=(SecretStr("unused"),), redis_prefix=prefix)


def test_needs_deeper_analysis_escalates_to_the_full_model(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(findings([], needs_deeper=True), model="gpt-5-codex-mini")
    emulator.add(findings([FINDING]), model="gpt-5.4")
    config = make_config(emulator, prefix, escalation_model="gpt-5.4")
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "ok"
    assert review.escalated
    assert review.model == "gpt-5.4"
    assert len(review.findings) == 1
    assert [b["model"] for b in _bodies(emulator)] == ["gpt-5-codex-mini", "gpt-5.4"]
    assert emulator.requests[1].body["reasoning"] == {"effort": "medium"}
    records = make_client(config, redis_url).ledger.calls_for_pr("octo/widgets", 7)
    assert [r.model for r in records] == ["gpt-5-codex-mini", "gpt-5.4"]
    assert review.cost_usd == sum((r.cost_usd for r in records), Decimal(0))
    assert len(review.request_ids) == 2


def test_invalid_output_escalates(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(text("not json"), model="gpt-5-codex-mini")
    emulator.add(findings([]), model="gpt-5.4")
    config = make_config(emulator, prefix, escalation_model="gpt-5.4")
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "ok"
    assert review.escalated
    assert len(emulator.requests) == 3  # mini, mini repair, full


def test_monthly_budget_stops_new_calls(env: Env) -> None:
    emulator, redis_url, prefix = env
    config = make_config(emulator, prefix, monthly_budget_usd=Decimal("0.000001"))
    client = make_client(config, redis_url)
    assert review_segment(client, PROMPT, CALL).status == "ok"
    blocked = review_segment(client, PROMPT, CALL)
    assert blocked.status == "budget_exceeded"
    assert blocked.error is not None
    assert "monthly model budget" in blocked.error
    assert "octo/widgets" in blocked.error
    assert len(emulator.requests) == 1
    other_repo = replace(CALL, repository="octo/other")
    assert review_segment(client, PROMPT, other_repo).status == "ok"
    decision = client.ledger.check("octo/widgets", now=FakeClock().time())
    assert not decision.allowed
    assert decision.status == "exceeded"


class Host:
    def __init__(self, search_output: str = "app.py:3: x = 1") -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.search_output = search_output

    def read_file(self, path: str, start_line: int, end_line: int) -> str:
        self.calls.append(("read_file", path, start_line, end_line))
        return f"{start_line}: def helper():\n{end_line}:     return 1"

    def search(self, pattern: str) -> str:
        self.calls.append(("search", pattern))
        return self.search_output

    def find_references(self, symbol: str) -> str:
        self.calls.append(("find_references", symbol))
        return "app.py:3: helper()"

    search_scope = "the changed files"


def test_function_tools_are_answered_and_replayed_statelessly(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(function_call("read_file", path="app.py", start_line=1, end_line=2), times=1)
    emulator.add(function_call("search", pattern="helper("), times=1)
    emulator.add(findings([FINDING]))
    host = Host()
    review = review_segment(
        make_client(make_config(emulator, prefix), redis_url), PROMPT, CALL, host
    )
    assert review.status == "ok"
    assert host.calls == [("read_file", "app.py", 1, 2), ("search", "helper(")]
    bodies = _bodies(emulator)
    assert [t["name"] for t in bodies[0]["tools"]] == ["read_file", "search", "find_references"]
    assert all(t["type"] == "function" and "parameters" in t for t in bodies[0]["tools"])
    assert bodies[0]["include"] == ["reasoning.encrypted_content"]
    assert all("previous_response_id" not in b for b in bodies)
    last = bodies[2]["input"]
    kinds = [item.get("type", item.get("role")) for item in last]
    assert kinds == [
        "user",
        "reasoning",
        "function_call",
        "function_call_output",
        "reasoning",
        "function_call",
        "function_call_output",
    ]
    assert all(item["encrypted_content"] for item in last if item.get("type") == "reasoning")
    outputs = [item["output"] for item in last if item.get("type") == "function_call_output"]
    assert outputs == ["1: def helper():\n2:     return 1", "app.py:3: x = 1"]
    # Every round is paid for: the review's usage is the sum of the three calls' usage.
    ledger = make_client(make_config(emulator, prefix), redis_url).ledger
    records = ledger.calls_for_pr("octo/widgets", 7)
    assert len(records) == 3
    assert review.usage == records[0].usage + records[1].usage + records[2].usage
    assert records[2].usage.input_tokens > records[0].usage.input_tokens  # replayed items
    assert len(review.request_ids) == 3


def test_an_endless_tool_caller_still_answers_within_the_round_cap_without_escalation(
    env: Env,
) -> None:
    emulator, redis_url, prefix = env
    # A model that calls tools whenever it may; with tool_choice "none" it must answer.
    emulator.add(function_call("search", pattern="x"))
    config = make_config(emulator, prefix, max_tool_rounds=2, escalation_model="gpt-5.4")
    host = Host()
    review = review_segment(make_client(config, redis_url), PROMPT, CALL, host)
    assert review.status == "ok"
    assert not review.escalated
    bodies = _bodies(emulator)
    assert len(bodies) == 3  # two tool rounds, then the answer
    assert [b.get("tool_choice") for b in bodies] == [None, None, "none"]
    assert {b["model"] for b in bodies} == {"gpt-5-codex-mini"}
    assert len(host.calls) == 2


def test_tool_calls_are_capped_per_round_and_per_segment(env: Env) -> None:
    emulator, redis_url, prefix = env
    many = Answer(calls=tuple(("search", {"pattern": f"p{i}"}) for i in range(5)))
    emulator.add(many, times=2)
    emulator.add(findings([]))
    config = make_config(
        emulator,
        prefix,
        max_tool_calls_per_round=3,
        max_tool_output_chars=2_000,
        max_tool_output_chars_per_segment=5_000,
    )
    host = Host(search_output="x" * 2_000)
    review = review_segment(make_client(config, redis_url), PROMPT, CALL, host)
    assert review.status == "ok"
    outputs = [
        item["output"]
        for item in emulator.requests[-1].body["input"]
        if item.get("type") == "function_call_output"
    ]
    assert len(outputs) == 10  # every call gets an output, run or not
    assert sum(len(o) for o in outputs if not o.startswith("error:")) <= 5_000 + 40
    assert outputs[3].startswith("error: not run; at most 3 tool calls")
    assert outputs[5].startswith("error: not run; the tool output budget")  # second round
    assert len(host.calls) == 3  # 2,000 + 2,000 + 1,000 characters, then the budget is spent


def test_bad_tool_arguments_go_back_to_the_model_as_text(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(function_call("read_file", path="a.py", start_line=5, end_line=1), times=1)
    emulator.add(function_call("delete_repo"), times=1)
    emulator.add(findings([]))
    host = Host()
    review = review_segment(
        make_client(make_config(emulator, prefix), redis_url), PROMPT, CALL, host
    )
    assert review.status == "ok"
    assert host.calls == []
    outputs = [
        item["output"]
        for item in emulator.requests[-1].body["input"]
        if item.get("type") == "function_call_output"
    ]
    assert outputs == ["error: end_line is before start_line", "error: unknown tool 'delete_repo'"]


def test_azure_endpoint_uses_api_key_and_deployments(env: Env) -> None:
    emulator, redis_url, prefix = env
    config = make_config(
        emulator,
        prefix,
        base_url=emulator.azure_url,
        api_style="azure",
        azure=AzureSettings(api_version="preview", deployments={"gpt-5-codex-mini": "review-mini"}),
        prices=make_config(emulator, prefix).prices.from_json(
            '{"review-mini": {"input": 0.25, "cached_input": 0.025, "output": 2}}',
            base=make_config(emulator, prefix).prices,
        ),
    )
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "ok"
    request = emulator.requests[0]
    assert request.path == "/openai/v1/responses"
    assert request.key == "sk-test-0"
    assert request.body["model"] == "review-mini"


def test_structured_call_with_another_schema(env: Env) -> None:
    emulator, redis_url, prefix = env
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["summary"],
        "properties": {"summary": {"type": "string"}},
    }
    emulator.add(text('{"summary": "fixed"}'))

    def parse(data: Any) -> str:
        if not isinstance(data, dict) or not isinstance(data.get("summary"), str):
            raise ValueError("summary missing")
        return str(data["summary"])

    result = make_client(make_config(emulator, prefix), redis_url).structured(
        PROMPT, CALL, "fix", schema, parse=parse
    )
    assert result.ok
    assert result.value == "fixed"
    assert emulator.requests[0].body["text"]["format"]["name"] == "fix"


def test_every_call_is_logged_with_request_id_and_limits_but_never_the_key(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(rate_limited(retry_after_ms=10), times=1)
    emulator.add(findings([]))
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("INFO", "json", stream=stream)
    try:
        review_segment(make_client(make_config(emulator, prefix), redis_url), PROMPT, CALL)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    calls = [line for line in lines if line["event"] == "model call"]
    assert [line["request_id"] for line in calls] == [r.request_id for r in emulator.requests]
    assert all(str(line["request_id"]).startswith("req_") for line in calls)
    assert [line["status"] for line in calls] == [429, 200]
    assert all("x-ratelimit-remaining-tokens" in line["rate_limits"] for line in calls)
    assert "sk-test-0" not in stream.getvalue()


def test_the_server_can_forbid_a_retry(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(
        error(500, "Do not retry.", type_="server_error", headers={"x-should-retry": "false"})
    )
    review = review_segment(make_client(make_config(emulator, prefix), redis_url), PROMPT, CALL)
    assert review.status == "failed"
    assert len(emulator.requests) == 1


def test_endpoint_failures_are_not_escalated(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(error(503, "Overloaded.", type_="server_error"), model="gpt-5-codex-mini")
    config = make_config(
        emulator, prefix, escalation_model="gpt-5.4", retry=RetryPolicy(max_attempts=2)
    )
    review = review_segment(make_client(config, redis_url, FakeClock()), PROMPT, CALL)
    assert review.status == "failed"
    assert not review.escalated
    assert {b["model"] for b in _bodies(emulator)} == {"gpt-5-codex-mini"}


def test_escalation_respects_the_budget(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(findings([FINDING], needs_deeper=True), model="gpt-5-codex-mini")
    config = make_config(
        emulator, prefix, escalation_model="gpt-5.4", monthly_budget_usd=Decimal("0.000001")
    )
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "ok"
    assert not review.escalated
    assert review.model == "gpt-5-codex-mini"
    assert len(review.findings) == 1
    assert review.error is not None
    assert "monthly model budget" in review.error
    assert [b["model"] for b in _bodies(emulator)] == ["gpt-5-codex-mini"]

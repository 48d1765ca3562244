"""``codex-bot doctor`` against the GitHub and Responses emulators.

The set-up is the README's: no ``REDIS_URL`` (``serve`` would start its own
Redis), settings in a file passed with ``--env-file``. Failures are injected
by pointing a URL at a port nobody listens on, or by a key the model refuses.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.emulators.github import GitHubEmulator
from tests.emulators.openai import ResponsesEmulator, text
from workers.cli.doctor import doctor
from workers.redis_server import free_port


@pytest.fixture
def env_file(
    tmp_path: Path, github_emulator: GitHubEmulator, openai_emulator: ResponsesEmulator
) -> Path:
    app = github_emulator.create_app("codex-review")
    github_emulator.create_repo("acme/calc", {"README.md": "calc\n"})
    github_emulator.create_repo("acme/web", {"README.md": "web\n"})
    github_emulator.create_installation(app, "acme", ["calc", "web"])
    (tmp_path / "key.pem").write_text(app.private_key_pem)
    path = tmp_path / "settings.env"
    path.write_text(
        f"APP_ID={app.id}\n"
        f"PRIVATE_KEY_PATH={tmp_path / 'key.pem'}\n"
        f"GITHUB_API_URL={github_emulator.base_url}\n"
        "OPENAI_API_KEY=sk-test-0,sk-test-1\n"
        f"OPENAI_BASE_URL={openai_emulator.url}\n"
        f"DATA_DIR={tmp_path / 'data'}\n"
    )
    openai_emulator.add(text('{"ok": true}'), match="Answer with ok set to true.")
    return path


def run(env_file: Path, **env: str) -> Result:
    base = {"REDIS_URL": "", "CELERY_BROKER_URL": "", "CODEX_ENV_FILE": ""}
    return CliRunner().invoke(doctor, ["--env-file", str(env_file)], env={**base, **env})


def lines(result: Result) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^(\S.*?)\s+(ok|warn|FAIL)\s+(.*)$", line)
        assert match is not None, line
        out.setdefault(match[1], f"{match[2]} {match[3]}")
    return out


def test_doctor_passes_on_the_readme_set_up_with_the_embedded_broker(env_file: Path) -> None:
    result = run(env_file)
    assert result.exit_code == 0, result.output
    found = lines(result)
    assert found["broker"].startswith("ok")
    assert "serve will start" in found["broker"]
    assert found["github"].startswith("ok")
    assert "acme: acme/calc, acme/web" in result.stdout
    assert found["model key 1"].startswith("ok")
    assert found["model key 2"].startswith("ok")
    assert f"settings from {env_file}" in result.stderr


def test_an_unreachable_github_is_one_plain_sentence_and_exit_1(env_file: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run(env_file, GITHUB_API_URL=url)
    assert result.exit_code == 1, result.output
    assert f"github        FAIL  cannot reach GitHub at {url}: the connection was refused." in (
        result.stdout
    )
    assert "installations FAIL  not listed" in result.stdout
    assert "Traceback" not in result.output
    assert "urllib3" not in result.output
    # The model is still tried: it does not depend on GitHub.
    assert lines(result)["model key 1"].startswith("ok")


def test_a_refused_model_key_fails_that_key_only(env_file: Path) -> None:
    env_file.write_text(
        env_file.read_text().replace("sk-test-0,sk-test-1", "sk-test-0,sk-not-a-known-key")
    )
    result = run(env_file)
    assert result.exit_code == 1, result.output
    found = lines(result)
    assert found["model key 1"].startswith("ok")
    assert found["model key 2"].startswith("FAIL")


def test_an_app_with_no_installation_warns_but_passes(
    tmp_path: Path, github_emulator: GitHubEmulator, openai_emulator: ResponsesEmulator
) -> None:
    app = github_emulator.create_app("lonely")
    (tmp_path / "key.pem").write_text(app.private_key_pem)
    path = tmp_path / "settings.env"
    path.write_text(
        f"APP_ID={app.id}\nPRIVATE_KEY_PATH={tmp_path / 'key.pem'}\n"
        f"GITHUB_API_URL={github_emulator.base_url}\nOPENAI_API_KEY=sk-test-0\n"
        f"OPENAI_BASE_URL={openai_emulator.url}\n"
    )
    openai_emulator.add(text('{"ok": true}'), match="Answer with ok set to true.")
    result = run(path)
    assert result.exit_code == 0, result.output
    assert lines(result)["installations"].startswith("warn")


def test_a_missing_env_file_is_named_with_exit_2(tmp_path: Path) -> None:
    result = run(tmp_path / "nope.env")
    assert result.exit_code == 2
    assert "nope.env does not exist" in result.stderr

"""The `billing` command line as an operator meets it: readable help, one-line start-up errors."""

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import app.cli
from app.cli import StartupError, check_database, cli
from app.core.config import Settings

BILLING = Path(sys.executable).parent / "billing"
COMMANDS = ["serve", "migrate", "token", "openapi", "collect", "deliver", "worker", "stripe-sync"]
# `billing token [OPTIONS] ACCOUNT`, `billing stripe-sync [OPTIONS] [ACCOUNT]`, ...
USAGE = re.compile(r"Usage: billing( [a-z-]+)? \[OPTIONS\]( COMMAND \[ARGS\]\.\.\.| \[?[A-Z]+\]?)*")


def help_text(*command: str) -> str:
    result = CliRunner().invoke(
        cli, [*command, "--help"], prog_name="billing", env={"COLUMNS": "100"}
    )
    assert result.exit_code == 0, result.output
    return result.output


class TestHelp:
    def test_lists_every_command(self):
        listed = help_text()
        for command in COMMANDS:
            assert re.search(rf"│ {command} +\S", listed), command

    @pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
    def test_reads_cleanly(self, command):
        text = help_text(*command)
        usage = [line.strip() for line in text.splitlines() if "Usage:" in line]
        assert len(usage) == 1
        assert USAGE.fullmatch(usage[0]), usage[0]
        # Flags take no value; types are click's plain words, not <bool> / <str>.
        assert "<" not in text, text
        assert "{" not in text, text

    def test_flags_show_both_spellings_and_defaults_survive(self):
        text = help_text("serve")
        assert re.search(r"--migrate +--no-migrate", text)
        assert "BILLING_WORKERS" in text  # not eaten as console markup


def run_billing(tmp_path: Path, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {name: value for name, value in os.environ.items() if not name.startswith("BILLING_")}
    return subprocess.run(
        [str(BILLING), *command],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


def assert_one_line(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("billing: ")
    assert "Traceback" not in result.stderr
    for part in expected:
        assert part in result.stderr


class TestStartupErrors:
    @pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"]])
    def test_an_unreachable_database_is_named_in_one_line(self, tmp_path, closed_port, command):
        url = f"postgresql+asyncpg://billing:hunter2@127.0.0.1:{closed_port}/billing"
        result = run_billing(tmp_path, *command, BILLING_DATABASE_URL=url)
        assert_one_line(
            result,
            f"cannot use the database postgresql+asyncpg://billing:***@127.0.0.1:{closed_port}",
            "Connect call failed",
        )
        assert "hunter2" not in result.stderr

    def test_a_sqlite_file_in_a_missing_folder(self, tmp_path):
        url = f"sqlite+aiosqlite:///{tmp_path}/missing/billing.db"
        result = run_billing(tmp_path, "migrate", BILLING_DATABASE_URL=url)
        assert_one_line(result, url, "unable to open database file")

    def test_a_driver_that_is_not_installed(self, tmp_path):
        url = "mysql+aiomysql://billing@127.0.0.1/billing"
        result = run_billing(tmp_path, "migrate", BILLING_DATABASE_URL=url)
        assert_one_line(result, url, "aiomysql")

    def test_a_database_that_never_answers_times_out(self, monkeypatch, silent_server):
        monkeypatch.setattr(app.cli, "DATABASE_CHECK_SECONDS", 0.5)
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{silent_server}/billing"
        with pytest.raises(StartupError, match=r"no answer within 0.5 s"):
            check_database(Settings(database_url=url))

    def test_a_reachable_database_passes(self, settings):
        check_database(settings)

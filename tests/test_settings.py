"""Settings from the environment: typed, read once; a bad deploy stops with a clear reason."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from app.core.config import (
    DEV_JWT_SECRET,
    Environment,
    ProviderName,
    Settings,
    SettingsError,
    load_settings,
)

REAL_SECRET = "a-production-secret-of-at-least-32-characters"
POSTGRES_URL = "postgresql+asyncpg://billing:hunter2@db.internal:5432/billing"
PRODUCTION = {
    "BILLING_ENV": "production",
    "BILLING_JWT_SECRET": REAL_SECRET,
    "BILLING_DATABASE_URL": POSTGRES_URL,
    "BILLING_PAYMENT_PROVIDER": "stripe",
    "BILLING_STRIPE_API_KEY": "sk_live_example",
    "BILLING_STRIPE_WEBHOOK_SECRET": "whsec_example",
}
BILLING = Path(sys.executable).parent / "billing"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("BILLING_"):
            monkeypatch.delenv(name)


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def refusal(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    with pytest.raises(SettingsError) as caught:
        load(monkeypatch, **env)
    message = str(caught.value)
    assert "\n" not in message
    return message


class TestDefaults:
    def test_development_defaults_match_the_contract(self, monkeypatch):
        settings = load(monkeypatch)
        assert settings.env is Environment.DEVELOPMENT
        assert settings.database_url == "sqlite+aiosqlite:///./billing.db"
        assert settings.payment_provider is ProviderName.SANDBOX
        assert settings.jwt_key == DEV_JWT_SECRET
        assert settings.retry_schedule == [timedelta(days=1), timedelta(days=3), timedelta(days=5)]
        assert settings.cors_origins == []
        assert settings.workers == 1
        assert settings.log_level == "INFO"

    def test_values_are_parsed_into_types(self, monkeypatch):
        settings = load(
            monkeypatch,
            BILLING_RETRY_SCHEDULE="90s, 2h,3d",
            BILLING_CORS_ORIGINS="https://app.example, https://admin.example",
            BILLING_WORKERS="4",
            BILLING_LOG_LEVEL="DEBUG",
        )
        assert settings.retry_schedule == [
            timedelta(seconds=90),
            timedelta(hours=2),
            timedelta(days=3),
        ]
        assert settings.cors_origins == ["https://app.example", "https://admin.example"]
        assert settings.workers == 4
        assert settings.log_level == "DEBUG"

    def test_a_complete_production_configuration_is_accepted(self, monkeypatch):
        settings = load(monkeypatch, **PRODUCTION)
        assert settings.env is Environment.PRODUCTION
        assert settings.jwt_key == REAL_SECRET


class TestInvalidValues:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("BILLING_RETRY_SCHEDULE", "bogus"),
            ("BILLING_RETRY_SCHEDULE", "1d,0h"),
            ("BILLING_RETRY_SCHEDULE", ""),
            ("BILLING_ENV", "staging"),
            ("BILLING_PAYMENT_PROVIDER", "paypal"),
            ("BILLING_WORKERS", "0"),
            ("BILLING_WORKERS", "many"),
            ("BILLING_LOG_LEVEL", "LOUD"),
            ("BILLING_DATABASE_POOL_SIZE", "-1"),
            ("BILLING_DATABASE_URL", "not a url"),
            ("BILLING_ALLOW_SQLITE_IN_PRODUCTION", "perhaps"),
        ],
    )
    def test_the_message_names_the_variable(self, monkeypatch, name, value):
        assert name in refusal(monkeypatch, **{name: value})

    def test_a_synchronous_database_driver_is_refused_without_echoing_the_password(
        self, monkeypatch
    ):
        message = refusal(monkeypatch, BILLING_DATABASE_URL="postgresql://u:hunter2@db/billing")
        assert "BILLING_DATABASE_URL" in message
        assert "postgresql+asyncpg" in message
        assert "hunter2" not in message

    def test_every_bad_variable_is_named_at_once(self, monkeypatch):
        message = refusal(monkeypatch, BILLING_ENV="staging", BILLING_WORKERS="0")
        assert "BILLING_ENV" in message
        assert "BILLING_WORKERS" in message

    def test_stripe_needs_an_api_key(self, monkeypatch):
        message = refusal(monkeypatch, BILLING_PAYMENT_PROVIDER="stripe")
        assert "BILLING_STRIPE_API_KEY" in message


class TestProductionRefusesDevelopmentShortcuts:
    def test_no_jwt_secret(self, monkeypatch):
        env = {**PRODUCTION}
        del env["BILLING_JWT_SECRET"]
        assert "BILLING_JWT_SECRET" in refusal(monkeypatch, **env)

    def test_the_dev_jwt_secret(self, monkeypatch):
        message = refusal(monkeypatch, **{**PRODUCTION, "BILLING_JWT_SECRET": DEV_JWT_SECRET})
        assert "BILLING_JWT_SECRET" in message
        assert DEV_JWT_SECRET not in message

    def test_a_short_jwt_secret(self, monkeypatch):
        message = refusal(monkeypatch, **{**PRODUCTION, "BILLING_JWT_SECRET": "short"})
        assert "BILLING_JWT_SECRET" in message

    def test_sqlite_unless_explicitly_allowed(self, monkeypatch):
        sqlite = {**PRODUCTION, "BILLING_DATABASE_URL": "sqlite+aiosqlite:///./billing.db"}
        message = refusal(monkeypatch, **sqlite)
        assert "BILLING_DATABASE_URL" in message
        assert "BILLING_ALLOW_SQLITE_IN_PRODUCTION" in message
        allowed = load(monkeypatch, BILLING_ALLOW_SQLITE_IN_PRODUCTION="1")
        assert allowed.is_sqlite

    def test_the_sandbox_provider_unless_explicitly_allowed(self, monkeypatch):
        sandbox = {**PRODUCTION, "BILLING_PAYMENT_PROVIDER": "sandbox"}
        assert "BILLING_PAYMENT_PROVIDER" in refusal(monkeypatch, **sandbox)
        allowed = load(monkeypatch, BILLING_ALLOW_SANDBOX_IN_PRODUCTION="1")
        assert allowed.payment_provider is ProviderName.SANDBOX

    def test_stripe_without_a_webhook_secret(self, monkeypatch):
        env = {**PRODUCTION}
        del env["BILLING_STRIPE_WEBHOOK_SECRET"]
        assert "BILLING_STRIPE_WEBHOOK_SECRET" in refusal(monkeypatch, **env)


def run_with(tmp_path: Path, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {name: value for name, value in os.environ.items() if not name.startswith("BILLING_")}
    return subprocess.run(
        command,
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestStartUpStopsOnBadSettings:
    @pytest.mark.parametrize(
        ("env", "variable"),
        [
            ({"BILLING_RETRY_SCHEDULE": "bogus"}, "BILLING_RETRY_SCHEDULE"),
            ({"BILLING_ENV": "production"}, "BILLING_JWT_SECRET"),
            (
                {"BILLING_ENV": "production", "BILLING_JWT_SECRET": REAL_SECRET},
                "BILLING_DATABASE_URL",
            ),
        ],
    )
    @pytest.mark.parametrize("command", [["serve", "--port", "1"], ["migrate"]])
    def test_the_cli_exits_with_one_line_naming_the_variable(
        self, tmp_path, command, env, variable
    ):
        result = run_with(tmp_path, str(BILLING), *command, **env)
        assert result.returncode != 0
        assert variable in result.stderr
        assert result.stderr.strip().count("\n") == 0
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "billing.db").exists()

    def test_the_asgi_entry_point_exits_with_one_line_naming_the_variable(self, tmp_path):
        result = run_with(tmp_path, sys.executable, "-c", "import app.asgi", BILLING_WORKERS="zero")
        assert result.returncode != 0
        assert "BILLING_WORKERS" in result.stderr
        assert "Traceback" not in result.stderr

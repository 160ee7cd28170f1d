"""Typed settings, read once from `BILLING_*` environment variables."""

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

# Only ever used when BILLING_ENV=development; production refuses to start with it.
DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"  # noqa: S105

ENV_PREFIX = "BILLING_"
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_RATE = re.compile(r"^(\d+)/([smhd])$")


class SettingsError(Exception):
    """The environment does not make a valid configuration; the message names each variable."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ProviderName(StrEnum):
    SANDBOX = "sandbox"
    STRIPE = "stripe"


def parse_duration(value: str) -> timedelta:
    """Parse `90s`, `15m`, `1h` or `3d` strictly: one integer and one unit."""
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 30m, 12h or 3d")
    amount, unit = match.groups()
    delta = timedelta(**{_UNITS[unit]: int(amount)})
    if delta <= timedelta(0):
        raise ValueError(f"{value!r} must be longer than zero")
    return delta


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `count` events per sliding `period`."""

    count: int
    period: timedelta


def parse_rate_limit(value: object) -> object:
    """Parse `20/h`, `5/m` or `100/d` strictly: a positive count, a slash and one unit."""
    if not isinstance(value, str):
        return value
    match = _RATE.fullmatch(value.strip())
    if match is None or int(match.group(1)) < 1:
        raise ValueError(
            f"{value!r} is not a limit like 20/h: a count of 1 or more per s, m, h or d"
        )
    count, unit = match.groups()
    return RateLimit(int(count), timedelta(**{_UNITS[unit]: 1}))


def _split_schedule(value: object) -> object:
    if isinstance(value, str):
        if not value.strip():
            return []
        return [parse_duration(part) for part in value.split(",")]
    return value


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./billing.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)

    payment_provider: ProviderName = ProviderName.SANDBOX
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None
    stripe_timeout_seconds: float = Field(default=20.0, gt=0)
    # Handed to the embeddable portal, which loads Stripe.js in the browser.
    stripe_publishable_key: str | None = None
    stripe_js_url: str = "https://js.stripe.com/v3/"

    jwt_secret: SecretStr | None = None
    # Encrypts the webhook endpoints' signing secrets in the database (see `webhook_key`).
    webhook_secrets_key: SecretStr | None = None
    retry_schedule: Annotated[list[timedelta], NoDecode, BeforeValidator(_split_schedule)] = Field(
        default_factory=lambda: [timedelta(days=1), timedelta(days=3), timedelta(days=5)]
    )
    # Card adds (setup intents included) per account, counted in the database.
    card_add_limit: Annotated[RateLimit, NoDecode, BeforeValidator(parse_rate_limit)] = Field(
        default_factory=lambda: RateLimit(20, timedelta(hours=1))
    )
    cors_origins: Annotated[list[str], NoDecode, BeforeValidator(_split_csv)] = Field(
        default_factory=list
    )
    allow_sqlite_in_production: bool = False
    allow_sandbox_in_production: bool = False

    # Who issues the invoices: printed at the top of every PDF.
    seller_name: str = "Cloud Platform Inc."
    seller_address: str = "1 Infrastructure Way, 10115 Berlin, Germany"
    seller_email: str = "billing@cloud.example"

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # `billing serve` worker processes; each holds its own database pool of database_pool_size.
    workers: int = Field(default=1, ge=1, le=64)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # The URL may carry a password: messages describe it, never repeat it.
        try:
            dialect = make_url(value).get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError):
            raise ValueError(
                "is not a SQLAlchemy URL such as postgresql+asyncpg://user:password@host/db"
            ) from None
        if not dialect.is_async:
            raise ValueError(
                "needs an async driver: postgresql+asyncpg://… or sqlite+aiosqlite:///…"
            )
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _schedule_not_empty(cls, value: list[timedelta]) -> list[timedelta]:
        if not value:
            raise ValueError("needs at least one delay, e.g. 1d,3d,5d")
        return value

    @model_validator(mode="after")
    def _check_environment(self) -> "Settings":
        if self.env is Environment.PRODUCTION:
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if not secret or secret == DEV_JWT_SECRET:
                raise ValueError("BILLING_JWT_SECRET must be set to a real secret in production")
            if len(secret) < 32:
                raise ValueError("BILLING_JWT_SECRET must be at least 32 characters in production")
            if self.is_sqlite and not self.allow_sqlite_in_production:
                raise ValueError(
                    "BILLING_DATABASE_URL is SQLite; production needs PostgreSQL "
                    "(or BILLING_ALLOW_SQLITE_IN_PRODUCTION=1)"
                )
            if (
                self.payment_provider is ProviderName.SANDBOX
                and not self.allow_sandbox_in_production
            ):
                raise ValueError(
                    "BILLING_PAYMENT_PROVIDER is sandbox; production needs stripe "
                    "(or BILLING_ALLOW_SANDBOX_IN_PRODUCTION=1)"
                )
            if self.payment_provider is ProviderName.STRIPE and self.stripe_webhook_secret is None:
                raise ValueError(
                    "BILLING_STRIPE_WEBHOOK_SECRET is required in production with "
                    "BILLING_PAYMENT_PROVIDER=stripe, or every Stripe webhook is refused"
                )
        if self.payment_provider is ProviderName.STRIPE and self.stripe_api_key is None:
            raise ValueError(
                "BILLING_STRIPE_API_KEY is required when BILLING_PAYMENT_PROVIDER=stripe"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def jwt_key(self) -> str:
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return DEV_JWT_SECRET

    @property
    def webhook_key(self) -> str:
        """The server-side secret behind the endpoints' stored signing secrets.

        Defaults to the JWT secret, which production already requires to be strong.
        """
        if self.webhook_secrets_key is not None:
            return self.webhook_secrets_key.get_secret_value()
        return self.jwt_key


def describe(error: ValidationError) -> str:
    """One line naming each offending variable, without echoing values (they may be secrets)."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        location = item["loc"]
        if location:
            problems.append(f"{ENV_PREFIX}{str(location[0]).upper()}: {message}")
        else:
            problems.append(message)
    return "invalid configuration: " + "; ".join(problems)


def load_settings() -> Settings:
    """Settings from the environment, or `SettingsError` with a message fit for an operator."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()

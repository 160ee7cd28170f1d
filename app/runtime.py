"""The composition root: builds the process's `Runtime` for the API and the CLI's workers.

Only `app.main` and `app.cli` import this module; everything else receives what it needs.
"""

from functools import partial
from typing import Any

from app.core.clock import Clock, SystemClock
from app.core.config import ProviderName, Settings
from app.core.db import create_engine, create_read_engine, create_sessionmaker
from app.core.reads import Reader
from app.core.runtime import Runtime
from app.events.delivery import Deliverer
from app.events.secrets import SecretBox
from app.events.sender import WebhookSender
from app.invoices.collection import Collector
from app.invoices.retry import RetryPolicy
from app.payments.provider import PaymentProvider, ProviderFactory
from app.sandbox.provider import SandboxProvider


def build_runtime(
    settings: Settings,
    clock: Clock | None = None,
    provider_factory: ProviderFactory | None = None,
) -> Runtime[PaymentProvider]:
    """Everything a process shares; `provider_factory` replaces the configured provider."""
    clock = clock or SystemClock()
    engine = create_engine(settings)
    read_engine = create_read_engine(engine, settings)
    runtime = Runtime[PaymentProvider](
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        read_sessionmaker=create_sessionmaker(read_engine),
        reader=Reader(read_engine),
        clock=clock,
        providers=provider_factory or partial(SandboxProvider, settings=settings, clock=clock),
    )
    if provider_factory is None and settings.payment_provider is ProviderName.STRIPE:
        from app.payments.stripe.provider import StripeProvider

        # Stripe's client is stateless and shared by every session.
        stripe_provider = StripeProvider(settings)
        runtime.providers = lambda _session: stripe_provider
        runtime.closers.append(stripe_provider.aclose)
    return runtime


def build_collector(runtime: Runtime[PaymentProvider]) -> Collector:
    """The payment collection worker's view of the runtime."""
    return Collector(
        runtime.sessionmaker,
        runtime.providers,
        runtime.clock,
        RetryPolicy.from_settings(runtime.settings),
    )


def build_deliverer(runtime: Runtime[Any]) -> Deliverer:
    """The webhook delivery worker's view of the runtime; the caller closes its sender."""
    return Deliverer(
        sessionmaker=runtime.sessionmaker,
        clock=runtime.clock,
        sender=WebhookSender(),
        secrets=SecretBox(runtime.settings.webhook_key),
    )

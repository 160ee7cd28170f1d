"""What a process needs to serve or work: settings, database, clock, payment provider.

Built once by the API (`create_app`) and by the CLI commands, so both wire the same way.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.known import KnownAccounts
from app.core.clock import Clock, SystemClock
from app.core.config import ProviderName, Settings
from app.core.db import create_engine, create_sessionmaker
from app.payments.provider import PaymentProvider
from app.payments.sandbox import SandboxProvider


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    # Stripe's client is stateless and shared; the sandbox provider lives in the database
    # and is bound to each session instead.
    shared_provider: PaymentProvider | None
    # Released by `close`: the Stripe client's HTTP connection pool.
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    known_accounts: KnownAccounts = field(default_factory=KnownAccounts)

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> "Runtime":
        engine = create_engine(settings)
        shared: PaymentProvider | None = None
        closers: list[Callable[[], Awaitable[None]]] = []
        if settings.payment_provider is ProviderName.STRIPE:
            from app.payments.stripe import StripeProvider

            stripe_provider = StripeProvider(settings)
            shared = stripe_provider
            closers.append(stripe_provider.aclose)
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            clock=clock or SystemClock(),
            shared_provider=shared,
            closers=closers,
        )

    def provider(self, session: AsyncSession) -> PaymentProvider:
        if self.shared_provider is not None:
            return self.shared_provider
        return SandboxProvider(session, self.settings, self.clock)

    async def close(self) -> None:
        for close in self.closers:
            await close()
        await self.engine.dispose()

"""What a process needs to serve or work, and the one typed dependency that hands it out.

Built once per process by `app.runtime.build_runtime` (the API's `create_app` and the CLI's
workers wire the same way); routes reach it only through `RuntimeDep` and the narrower
dependencies made from it here and beside the session and the provider.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.config import Settings
from app.core.known_ids import KnownIds
from app.core.reads import Reader

# The payment provider's interface, which the payments domain defines: core names it only as
# a type parameter (`Runtime[PaymentProvider]`, made by `app.runtime`), so it imports no domain.
Provider = TypeVar("Provider")


@dataclass
class Runtime(Generic[Provider]):
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # For GET and HEAD requests, on the read engine (`app.core.db.create_read_engine`).
    read_sessionmaker: async_sessionmaker[AsyncSession]
    # The hot reads' way to the read engine (`reader.engine`), see `app.core.reads`.
    reader: Reader
    clock: Clock
    # A provider for a session (the sandbox keeps its state in the session's database).
    providers: Callable[[AsyncSession], Provider]
    # Released by `close`: e.g. the Stripe client's HTTP connection pool.
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    known_accounts: KnownIds = field(default_factory=KnownIds)

    async def close(self) -> None:
        for close in self.closers:
            await close()
        await self.engine.dispose()


def runtime_of(request: Request) -> Runtime[Any]:
    """The app's runtime. For dependencies: each `RuntimeDep` a dependency declares is one more
    node FastAPI solves on every request, so the ones on every route read it here instead."""
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime), "the app is built by create_app"
    return runtime


async def get_runtime(request: Request) -> Runtime[Any]:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime[Any], Depends(get_runtime)]


async def get_settings_dep(request: Request) -> Settings:
    return runtime_of(request).settings


async def get_clock(request: Request) -> Clock:
    return runtime_of(request).clock


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]

"""Fixtures of the events tests: a real HTTP receiver per test, a deliverer on the app."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from app.core.config import Settings
from app.events.delivery import Deliverer
from app.events.secrets import SecretBox
from app.events.sender import WebhookSender
from tests.clock import FrozenClock
from tests.events.receiver import Receiver


def secrets_key(settings: Settings) -> str:
    # SCAFFOLD until the settings carry the key
    return str(getattr(settings, "webhook_secrets_key", settings.jwt_key))


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[FastAPI]:
    # SCAFFOLD until app.main mounts the events router
    from app.events.router import get_secret_box, router
    from app.main import create_app

    application = create_app(settings, clock)
    application.include_router(router)

    async def box() -> SecretBox:
        return SecretBox(secrets_key(settings))

    application.dependency_overrides[get_secret_box] = box
    yield application
    await application.state.runtime.close()


class Resource(BaseModel):
    id: str
    note: str = "as the API shows it"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
async def deliverer(
    app: FastAPI, settings: Settings, clock: FrozenClock
) -> AsyncIterator[Deliverer]:
    sender = WebhookSender(timeout=0.5)
    yield Deliverer(
        sessionmaker=app.state.runtime.sessionmaker,
        clock=clock,
        sender=sender,
        secrets=SecretBox(secrets_key(settings)),
    )
    await sender.aclose()


@pytest.fixture
def admin(auth: Any) -> dict[str, str]:
    return dict(auth(admin=True))

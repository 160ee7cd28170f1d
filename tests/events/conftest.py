"""Fixtures of the events tests: a real HTTP receiver per test, a deliverer on the app."""

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.events.delivery import Deliverer
from app.events.secrets import SecretBox
from app.events.sender import WebhookSender
from tests.clock import FrozenClock
from tests.events.receiver import Receiver


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
        secrets=SecretBox(settings.webhook_key),
    )
    await sender.aclose()

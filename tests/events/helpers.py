"""Plain helpers of the events tests."""

from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from app.events import service
from app.events.types import EventType
from tests.clock import FrozenClock


class Resource(BaseModel):
    id: str
    note: str = "as the API shows it"


async def create_endpoint(
    client: httpx.AsyncClient, admin: dict[str, str], url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/v1/admin/webhook-endpoints", headers=admin, json={"url": url, "events": events or ["*"]}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def emit(
    app: FastAPI,
    clock: FrozenClock,
    count: int = 1,
    event_type: EventType = EventType.CARD_ADDED,
    account_id: str = "acct_events",
) -> list[str]:
    """Events written as a service writes them, committed."""
    async with app.state.runtime.sessionmaker() as session, session.begin():
        now = clock.now()
        return [
            await service.record(session, event_type, account_id, Resource(id=f"card_{n}"), now)
            for n in range(count)
        ]

"""The card-add rate limit (a defence against card testing), through the HTTP API: card adds
and setup intents count per account in the database, declined adds included; over the limit
429 `rate_limited` with `Retry-After`."""

import asyncio
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.core.config import RateLimit, Settings
from tests.clock import FrozenClock
from tests.factories import create_payment_method
from tests.stripe_server import client_for

ACCOUNT = "acct_card_testing"
OTHER = "acct_card_testing_other"


def app_with_limit(
    settings: Settings, clock: FrozenClock, limit: RateLimit
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """A client of an app (a replica) on the test database, with its own card-add limit.

    (Tests that make payment methods ask for `stripe_client` too: in Stripe mode that is
    where they are made.)"""
    return client_for(settings.model_copy(update={"card_add_limit": limit}), clock)


async def add_card(
    client: httpx.AsyncClient, headers: dict[str, str], number: str
) -> httpx.Response:
    payment_method = await create_payment_method(client, headers, number)
    return await client.post("/v1/cards", headers=headers, json={"payment_method": payment_method})


async def new_setup_intent(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/v1/cards/setup-intents", headers=headers)


def assert_rate_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


HOURLY_3 = RateLimit(3, timedelta(hours=1))


async def test_the_21st_attempt_within_the_hour_is_429_until_the_window_moves(client, auth, clock):
    headers = auth(ACCOUNT)
    for _ in range(20):
        assert (await new_setup_intent(client, headers)).status_code == 201
    retry_after = assert_rate_limited(await new_setup_intent(client, headers))
    assert retry_after <= 3600
    assert_rate_limited(await add_card(client, headers, "4242424242424242"))
    # Another account has a count of its own.
    assert (await new_setup_intent(client, auth(OTHER))).status_code == 201
    clock.advance(timedelta(seconds=retry_after))
    assert (await new_setup_intent(client, headers)).status_code == 201


async def test_declined_adds_count(settings, clock, auth, stripe_client):
    headers = auth(ACCOUNT)
    async with app_with_limit(settings, clock, HOURLY_3) as client:
        for _ in range(3):
            declined = await add_card(client, headers, "4000000000000002")
            assert declined.status_code == 402
        assert_rate_limited(await add_card(client, headers, "4242424242424242"))
        cards = (await client.get("/v1/cards", headers=headers)).json()["data"]
        assert cards == []


async def test_card_adds_and_setup_intents_share_the_count(settings, clock, auth, stripe_client):
    headers = auth(ACCOUNT)
    async with app_with_limit(settings, clock, HOURLY_3) as client:
        assert (await add_card(client, headers, "4242424242424242")).status_code == 201
        assert (await new_setup_intent(client, headers)).status_code == 201
        assert (await new_setup_intent(client, headers)).status_code == 201
        assert_rate_limited(await new_setup_intent(client, headers))
        assert_rate_limited(await add_card(client, headers, "5555555555554444"))


async def test_the_count_is_shared_by_every_replica(settings, clock, auth):
    headers = auth(ACCOUNT)
    async with app_with_limit(settings, clock, HOURLY_3) as first:
        for _ in range(3):
            assert (await new_setup_intent(first, headers)).status_code == 201
    async with app_with_limit(settings, clock, HOURLY_3) as second:
        assert_rate_limited(await new_setup_intent(second, headers))


async def test_retry_after_is_when_the_oldest_attempt_leaves_the_window(settings, clock, auth):
    headers = auth(ACCOUNT)
    async with app_with_limit(settings, clock, HOURLY_3) as client:
        assert (await new_setup_intent(client, headers)).status_code == 201
        clock.advance(timedelta(minutes=30))
        for _ in range(2):
            assert (await new_setup_intent(client, headers)).status_code == 201
        retry_after = assert_rate_limited(await new_setup_intent(client, headers))
        # The first attempt, half an hour old, leaves the window in about half an hour.
        assert 1700 < retry_after <= 1800
        clock.advance(timedelta(seconds=retry_after - 5))
        assert_rate_limited(await new_setup_intent(client, headers))
        clock.advance(timedelta(seconds=5))
        assert (await new_setup_intent(client, headers)).status_code == 201
        # The two later attempts are still in the window.
        assert_rate_limited(await new_setup_intent(client, headers))


async def test_a_refused_attempt_is_not_kept_under_its_idempotency_key(settings, clock, auth):
    headers = {**auth(ACCOUNT), "Idempotency-Key": "intent-after-the-wait"}
    async with app_with_limit(settings, clock, RateLimit(1, timedelta(minutes=1))) as client:
        assert (await new_setup_intent(client, auth(ACCOUNT))).status_code == 201
        retry_after = assert_rate_limited(await new_setup_intent(client, headers))
        clock.advance(timedelta(seconds=retry_after))
        later = await new_setup_intent(client, headers)
        assert later.status_code == 201
        assert "Idempotent-Replayed" not in later.headers


@pytest.mark.postgres_only
async def test_concurrent_attempts_never_exceed_the_limit(settings, clock, auth):
    headers = auth(ACCOUNT)
    limit = RateLimit(5, timedelta(hours=1))
    async with app_with_limit(settings, clock, limit) as client:
        responses: list[Any] = await asyncio.gather(
            *(new_setup_intent(client, headers) for _ in range(12))
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 5 + [429] * 7

"""Stripe mode: the idempotency keys Stripe gets are derived from the request's own
`Idempotency-Key`, so a retried request repeats no effect at Stripe, and a replay reaches
Stripe not at all.

localstripe ignores idempotency keys: what is checked is the key the SDK sends, which is what
Stripe dedupes on (recorded at the SDK's one request method)."""

from typing import Any

import httpx
import pytest
from stripe._api_requestor import _APIRequestor

from app.main import create_app
from app.payments.errors import PaymentProviderUnavailable
from app.payments.stripe.provider import StripeProvider

pytestmark = pytest.mark.stripe_only

ACCOUNT = "acct_stripe_idem"
OTHER = "acct_stripe_idem_other"

Call = tuple[str, str, str | None]


@pytest.fixture
def stripe_calls(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """(method, path, idempotency key) of every call the SDK makes, in order."""
    calls: list[Call] = []
    original = _APIRequestor.request_async

    async def recording(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        options = kwargs.get("options") or (args[1] if len(args) > 1 else None) or {}
        calls.append((method, url, options.get("idempotency_key")))
        return await original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(_APIRequestor, "request_async", recording)
    return calls


def keys_for(calls: list[Call], path_part: str) -> list[str | None]:
    return [key for method, url, key in calls if method == "post" and path_part in url]


async def new_setup_intent(
    client: httpx.AsyncClient, headers: dict[str, str], key: str | None
) -> httpx.Response:
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    return await client.post("/v1/cards/setup-intents", headers=headers)


async def test_stripe_keys_derive_from_the_request_key_and_its_caller(client, auth, stripe_calls):
    mine = await new_setup_intent(client, auth(ACCOUNT), "intent-1")
    theirs = await new_setup_intent(client, auth(OTHER), "intent-1")
    unkeyed = await new_setup_intent(client, auth(ACCOUNT), None)
    assert mine.status_code == theirs.status_code == unkeyed.status_code == 201
    first, second, third = keys_for(stripe_calls, "/v1/setup_intents")
    assert first is not None
    assert second is not None
    assert first.endswith(":setup-intent")
    # Unique to the caller: Stripe's keys are shared by every account of ours.
    assert first.split(":")[0] != second.split(":")[0]
    assert "intent-1" not in first
    # Without a key of the request's, the SDK makes one per call.
    assert third is None


async def test_a_replay_reaches_stripe_not_at_all(client, auth, stripe_calls):
    headers = auth(ACCOUNT)
    first = await new_setup_intent(client, headers, "intent-2")
    made = len(stripe_calls)
    replay = await new_setup_intent(client, headers, "intent-2")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert len(stripe_calls) == made


class _TimesOutAfterCreating:
    """Stripe makes the setup intent, but our side gives up waiting for the answer (a 503)."""

    def __init__(self, inner: StripeProvider, timeouts: list[bool]) -> None:
        self._inner = inner
        self._timeouts = timeouts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def create_setup_intent(self, customer_id: str) -> Any:
        intent = await self._inner.create_setup_intent(customer_id)
        if not self._timeouts:
            self._timeouts.append(True)
            raise PaymentProviderUnavailable("Stripe did not answer in time.")
        return intent


async def test_the_retry_of_a_5xx_sends_stripe_the_same_keys(settings, clock, auth, stripe_calls):
    headers = auth(ACCOUNT)
    stripe_provider = StripeProvider(settings)
    timeouts: list[bool] = []
    app = create_app(
        settings, clock, lambda _session: _TimesOutAfterCreating(stripe_provider, timeouts)
    )
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            failed = await new_setup_intent(http, headers, "intent-3")
            assert failed.status_code == 503
            retried = await new_setup_intent(http, headers, "intent-3")
            assert retried.status_code == 201
            assert "Idempotent-Replayed" not in retried.headers
    finally:
        await app.state.runtime.close()
        await stripe_provider.aclose()
    creations = keys_for(stripe_calls, "/v1/setup_intents")
    assert len(creations) == 2
    assert creations[0] is not None
    # Stripe answers the retry with the intent it made first, not a second one.
    assert creations[0] == creations[1]

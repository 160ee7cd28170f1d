"""localstripe, the Stripe emulator that `pytest --provider stripe` runs the service against.

A separate process (the `localstripe` command of the dev dependencies; `app/` never imports
it), started once per test session on a free port and reached over loopback, stopped by its
pid at the end. Its data is cleared before every test.

Also the Stripe-mode tests' tools: reading Stripe's side back with the SDK, signing webhook
events the way Stripe does, and apps whose Stripe is unreachable or silent.
"""

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import stripe

from app.core.config import Settings
from app.main import create_app
from tests.clock import FrozenClock

API_KEY = "sk_test_billing_localstripe"
WEBHOOK_SECRET = "whsec_billing_tests_0123456789abcdef"
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalStripe:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    @classmethod
    def start(cls, log: Path) -> "LocalStripe":
        executable = Path(sys.executable).with_name("localstripe")
        if not executable.exists():
            raise RuntimeError(f"{executable} is missing: install the dev dependencies")
        port = free_port()
        with log.open("wb") as output:
            # --from-scratch: localstripe would otherwise reload the data another run left in
            # /tmp/localstripe.pickle (it rewrites that file on every change).
            process = subprocess.Popen(
                [str(executable), "--port", str(port), "--from-scratch"],
                stdout=subprocess.DEVNULL,
                stderr=output,
            )
        server = cls(process=process, base_url=f"http://127.0.0.1:{port}", log=log)
        server._wait_until_ready()
        return server

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                response = httpx.get(
                    f"{self.base_url}/v1/customers",
                    headers={"Authorization": f"Bearer {API_KEY}"},
                    timeout=1,
                )
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if response.status_code == 200:
                return
        self.stop()
        raise RuntimeError(f"localstripe did not start:\n{self.log.read_text()[-2000:]}")

    def reset(self) -> None:
        response = httpx.delete(f"{self.base_url}/_config/data", timeout=10)
        response.raise_for_status()

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server the tests started, by its pid; kill it if it will not stop."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def signature_header(
    payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> str:
    """`Stripe-Signature` as Stripe computes it: HMAC-SHA256 of `{t}.{body}` with the secret."""
    moment = int(time.time()) if timestamp is None else timestamp
    signed = f"{moment}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def event_body(event_id: str, event_type: str, data: dict[str, Any]) -> bytes:
    """An event payload shaped like Stripe's (the fields the service reads, and a few more)."""
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": data},
    }
    return json.dumps(event, indent=2).encode()


async def customer_of(stripe_api: stripe.StripeClient, account_id: str) -> stripe.Customer:
    """The account's one Stripe customer, found by the `account_id` metadata the service sets."""
    customers = await stripe_api.v1.customers.list_async({"limit": 100})
    matches = [
        customer
        for customer in customers.data
        if customer.metadata is not None
        and customer.metadata.to_dict().get("account_id") == account_id
    ]
    assert len(matches) == 1, f"{len(matches)} customers for {account_id}"
    return matches[0]


async def attached_cards(
    stripe_api: stripe.StripeClient, customer_id: str
) -> list[stripe.PaymentMethod]:
    page = await stripe_api.v1.payment_methods.list_async(
        {"customer": customer_id, "type": "card", "limit": 100}
    )
    return list(page.data)


async def attached_card(
    stripe_api: stripe.StripeClient, customer_id: str, last4: str
) -> stripe.PaymentMethod:
    """The customer's payment method for a card, told apart by its last digits: localstripe
    calls every card a visa, and the tests use different numbers for different cards."""
    matches = [
        method
        for method in await attached_cards(stripe_api, customer_id)
        if method.card is not None and method.card.last4 == last4
    ]
    assert len(matches) == 1, f"{len(matches)} cards ending {last4}"
    return matches[0]


def default_payment_method(customer: stripe.Customer) -> str | None:
    settings = customer.invoice_settings
    if settings is None or settings.default_payment_method is None:
        return None
    default = settings.default_payment_method
    return default if isinstance(default, str) else default.id


def unreachable_url() -> str:
    """A loopback port nothing listens on: every connection is refused at once."""
    return f"http://127.0.0.1:{free_port()}"


@contextmanager
def silent_server() -> Iterator[str]:
    """A port that takes connections and never answers: every request times out."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@asynccontextmanager
async def client_for(settings: Settings, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the test database, configured differently (e.g. Stripe unreachable)."""
    application = create_app(settings, clock)
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await application.state.runtime.close()

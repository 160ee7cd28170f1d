"""A concurrency storm on PostgreSQL, through the real HTTP stack.

A real uvicorn serves the app on a free loopback port; 32 clients (8 per account, 4
accounts), each with its own connection and its own seeded `random.Random`, send 64 random
card and invoice operations each (2,048 in all): add cards (good, declined when added,
declined when charged), switch the primary card, delete cards, list; as the platform create,
finalize, void and mark invoices uncollectible; pay them. The clients of one account share
what they learn (card and invoice ids), so they collide on the same rows on purpose.

Then a deterministic phase makes the coverage true by construction, never by luck: a pay on
a declining card (402), ten concurrent finalizations of one draft (one 200), ten concurrent
pays of one payable invoice (one 200), pays racing primary switches that charge the same
due invoice (one charge).

Checked: no answer >= 500 and none outside the contract; every card list read during the
storm has exactly one primary card; at the end, per account, exactly one primary card,
invoice numbers unique and gapless, no invoice with two successful charges (neither in its
`payment_attempts` nor in the sandbox provider's ledger), paid means `paid_at`.

The app's pool is 5 connections, so that PostgreSQL's default `max_connections=100` is ample
even with two xdist workers running this at once.
"""

import asyncio
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.main import create_app
from app.models.sandbox import SandboxCharge, SandboxChargeStatus
from tests.conftest import make_settings
from tests.factories import VALID_BILLING_DETAILS, invoice_body
from tests.invariants import NO_CARD_ADD_LIMIT, card_problems, numbering_problems, payment_problems

pytestmark = [pytest.mark.postgres_only, pytest.mark.sandbox_only]

SEED = 20261126
ACCOUNTS = [f"acct_storm_{n}" for n in range(4)]
CLIENTS_PER_ACCOUNT = 8
OPERATIONS_PER_CLIENT = 64
FINAL = "acct_storm_final"
RACERS = 10

# Stripe's named test tokens: each a card of its own (fingerprint), as the sandbox plays it.
GOOD = ["pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_discover", "pm_card_jcb"]
CHARGE_FAILS = ["pm_card_chargeCustomerFail", "pm_card_chargeDeclinedInsufficientFunds"]
ADD_FAILS = ["pm_card_chargeDeclined", "pm_card_chargeDeclinedExpiredCard"]
TOKENS = GOOD + CHARGE_FAILS + CHARGE_FAILS + ADD_FAILS

# Recorded for a request whose connection the server dropped (counted with the 5xx).
DROPPED = 599

# What the contract allows each operation to answer (status -> codes; None: no problem body).
DECLINES = {"card_declined", "expired_card", "incorrect_cvc", "insufficient_funds"}
ALLOWED: dict[str, dict[int, set[str | None]]] = {
    "add_card": {
        201: {None},
        402: DECLINES,
        409: {"card_already_added", "card_limit_reached"},
        429: {"rate_limited"},
    },
    "make_primary": {200: {None}, 404: {"card_not_found"}},
    "delete_card": {204: {None}, 404: {"card_not_found"}, 409: {"primary_card_cannot_be_deleted"}},
    "list_cards": {200: {None}},
    "create_invoice": {201: {None}},
    "finalize": {200: {None}, 409: {"invoice_not_draft"}},
    "pay": {
        200: {None},
        402: DECLINES | {"authentication_required"},
        409: {"invoice_not_payable", "no_payment_method"},
    },
    "void": {200: {None}, 409: {"invoice_not_voidable"}},
    "mark_uncollectible": {200: {None}, 409: {"invoice_not_open"}},
    "list_invoices": {200: {None}},
    "get_invoice": {200: {None}},
}
WEIGHTS = {
    "add_card": 12,
    "make_primary": 12,
    "delete_card": 10,
    "list_cards": 8,
    "create_invoice": 12,
    "finalize": 12,
    "pay": 10,
    "void": 5,
    "mark_uncollectible": 3,
    "list_invoices": 6,
    "get_invoice": 6,
}


@dataclass
class Account:
    """What the clients of one account have learnt, shared so that they collide."""

    cards: list[str] = field(default_factory=list)
    invoices: list[str] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)
    payable: list[str] = field(default_factory=list)


@dataclass
class Tally:
    answers: Counter[tuple[str, int, str | None]] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    flagged: set[tuple[str, str]] = field(default_factory=set)

    def flag(self, account: str, invariant: str, problems: list[str]) -> None:
        """A broken invariant read mid-storm: recorded once per account and invariant."""
        if problems and (account, invariant) not in self.flagged:
            self.flagged.add((account, invariant))
            self.violations.append(f"{account}, during the storm: {problems[0]}")

    @property
    def operations(self) -> int:
        return sum(self.answers.values())

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status, _), n in self.answers.items() if status >= 500)

    def record(self, operation: str, response: httpx.Response) -> httpx.Response:
        code = None
        if response.headers.get("content-type") == "application/problem+json":
            code = response.json().get("code")
        self.answers[(operation, response.status_code, code)] += 1
        if code not in ALLOWED[operation].get(response.status_code, set()):
            self.unexpected.append(
                f"{operation} {response.request.url.path}: {response.status_code} "
                f"{response.text[:200]}"
            )
        return response


class Server:
    """uvicorn serving the app in a thread of its own, on a free loopback port."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on", timeout_keep_alive=120
        )
        self.server = uvicorn.Server(config)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    async def __aenter__(self) -> "Server":
        self.thread.start()
        for _ in range(600):
            if self.server.started:
                return self
            if not self.thread.is_alive():
                break
            await asyncio.sleep(0.05)
        raise RuntimeError("uvicorn did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self.thread.join)
        self.socket.close()


@dataclass
class Client:
    http: httpx.AsyncClient
    user: dict[str, str]
    admin: dict[str, str]
    account_id: str
    account: Account
    rng: random.Random
    tally: Tally

    async def send(
        self, operation: str, method: str, url: str, *, admin: bool = False, json: Any = None
    ) -> httpx.Response:
        headers = self.admin if admin else self.user
        try:
            response = await self.http.request(method, url, headers=headers, json=json)
        except httpx.TransportError as exc:
            # The server dropped the connection mid-request: as bad as a 500, and counted so.
            response = httpx.Response(
                DROPPED,
                headers={"content-type": "application/problem+json"},
                content=b'{"code": "connection_dropped"}',
                request=exc.request,
            )
        return self.tally.record(operation, response)

    def pick(self, ids: list[str]) -> str | None:
        return self.rng.choice(ids) if ids else None

    # --- the operations: each says whether it found something to act on -----------------

    async def add_card(self) -> bool:
        body = {"payment_method": self.rng.choice(TOKENS)}
        response = await self.send("add_card", "POST", "/v1/cards", json=body)
        if response.status_code == 201:
            self.account.cards.append(response.json()["id"])
        return True

    async def make_primary(self) -> bool:
        card = self.pick(self.account.cards)
        if card is None:
            return False
        await self.send("make_primary", "POST", f"/v1/cards/{card}/primary")
        return True

    async def delete_card(self) -> bool:
        card = self.pick(self.account.cards)
        if card is None:
            return False
        response = await self.send("delete_card", "DELETE", f"/v1/cards/{card}")
        if response.status_code in (204, 404) and card in self.account.cards:
            self.account.cards.remove(card)
        return True

    async def list_cards(self) -> bool:
        response = await self.send("list_cards", "GET", "/v1/cards")
        if response.status_code == 200:
            cards = response.json()["data"]
            self.tally.flag(self.account_id, "one primary card", card_problems(cards))
            known = set(self.account.cards)
            self.account.cards += [card["id"] for card in cards if card["id"] not in known]
        return True

    async def create_invoice(self) -> bool:
        lines = [{"description": "Storm", "quantity": 1, "unit_amount": self.rng.randint(1, 9999)}]
        body = invoice_body(self.account_id, lines=lines)
        response = await self.send(
            "create_invoice", "POST", "/v1/admin/invoices", admin=True, json=body
        )
        if response.status_code == 201:
            self.account.invoices.append(response.json()["id"])
            self.account.drafts.append(response.json()["id"])
        return True

    def _learn(self, invoice: str, response: httpx.Response) -> None:
        """Invoices seen payable: the pays aim at them (and collide on them)."""
        status = response.json().get("status") if response.status_code == 200 else None
        payable = status in ("payment_due", "not_paid") or response.status_code == 402
        if payable and invoice not in self.account.payable:
            self.account.payable.append(invoice)
        if status in ("paid", "voided") and invoice in self.account.payable:
            self.account.payable.remove(invoice)

    async def finalize(self) -> bool:
        # The newest drafts: the account's clients race for the same ones.
        invoice = self.pick(self.account.drafts[-2:])
        if invoice is None:
            return False
        url = f"/v1/admin/invoices/{invoice}/finalize"
        response = await self.send("finalize", "POST", url, admin=True)
        if response.status_code in (200, 409) and invoice in self.account.drafts:
            self.account.drafts.remove(invoice)
        self._learn(invoice, response)
        return True

    async def _on_invoice(
        self, operation: str, method: str, url: str, invoices: list[str], *, admin: bool = False
    ) -> bool:
        invoice = self.pick(invoices)
        if invoice is None:
            return False
        response = await self.send(operation, method, url.format(invoice), admin=admin)
        self._learn(invoice, response)
        return True

    async def pay(self) -> bool:
        aimed = self.account.payable if self.rng.random() < 0.7 else self.account.invoices[-4:]
        return await self._on_invoice("pay", "POST", "/v1/invoices/{}/pay", aimed)

    async def void(self) -> bool:
        url = "/v1/admin/invoices/{}/void"
        return await self._on_invoice("void", "POST", url, self.account.invoices, admin=True)

    async def mark_uncollectible(self) -> bool:
        url = "/v1/admin/invoices/{}/mark-uncollectible"
        invoices = self.account.invoices
        return await self._on_invoice("mark_uncollectible", "POST", url, invoices, admin=True)

    async def list_invoices(self) -> bool:
        response = await self.send("list_invoices", "GET", "/v1/invoices?limit=100")
        page = response.json() if response.status_code == 200 else {"has_more": True}
        if not page["has_more"]:
            self.tally.flag(self.account_id, "numbering", numbering_problems(page["data"]))
        return True

    async def get_invoice(self) -> bool:
        url = "/v1/invoices/{}"
        return await self._on_invoice("get_invoice", "GET", url, self.account.invoices)

    async def run(self, operations: int) -> None:
        names = sorted(WEIGHTS)
        weights = [WEIGHTS[name] for name in names]
        for name in self.rng.choices(names, weights, k=operations):
            # Every choice sends exactly one request: with nothing to act on, it reads.
            if not await getattr(self, name)():
                await self.list_cards()


async def _set_up(
    http: httpx.AsyncClient, admin: dict[str, str], user: dict[str, str], account: str
) -> None:
    response = await http.put(
        f"/v1/admin/accounts/{account}/projects/proj_1", headers=admin, json={"name": "Storm"}
    )
    assert response.status_code == 201, response.text
    response = await http.put("/v1/billing-details", headers=user, json=VALID_BILLING_DETAILS)
    assert response.status_code == 200, response.text


async def _final_phase(make_client: Callable[[str, int], Client], tally: Tally) -> None:
    """Coverage by construction: a declined pay, finalize and pay races, a paid invoice."""
    client = make_client(FINAL, 0)
    racers = [make_client(FINAL, n) for n in range(RACERS)]

    async def step(operation: str, method: str, url: str, **body: Any) -> dict[str, Any]:
        admin = url.startswith("/v1/admin/")
        response = await client.send(operation, method, url, admin=admin, json=body or None)
        assert response.status_code in (200, 201, 402), response.text
        return dict(response.json())

    async def race(calls: list[tuple[str, str]]) -> Counter[int]:
        answers = await asyncio.gather(
            *(
                racer.send(operation, "POST", url, admin=url.startswith("/v1/admin/"))
                for racer, (operation, url) in zip(racers, calls, strict=True)
            )
        )
        return Counter(response.status_code for response in answers)

    async def add(token: str) -> str:
        return str((await step("add_card", "POST", "/v1/cards", payment_method=token))["id"])

    async def due_invoice() -> str:
        """A new invoice finalized by ten racers at once, declined: `payment_due`."""
        draft = await step("create_invoice", "POST", "/v1/admin/invoices", **invoice_body(FINAL))
        url = f"/v1/admin/invoices/{draft['id']}/finalize"
        finalized = await race([("finalize", url)] * RACERS)
        if finalized != Counter({200: 1, 409: RACERS - 1}):
            tally.violations.append(f"{RACERS} concurrent finalizations: {dict(finalized)}")
        return str(draft["id"])

    declining = await add("pm_card_chargeCustomerFail")
    invoice = await due_invoice()
    declined = await step("pay", "POST", f"/v1/invoices/{invoice}/pay")
    assert declined["code"] == "card_declined", declined
    # Not paid, so that the new primary card does not pay it at once: ten racers pay it.
    await step("mark_uncollectible", "POST", f"/v1/admin/invoices/{invoice}/mark-uncollectible")
    good = [await add(token) for token in GOOD]
    await step("make_primary", "POST", f"/v1/cards/{good[0]}/primary")
    paid = await race([("pay", f"/v1/invoices/{invoice}/pay")] * RACERS)
    if paid != Counter({200: 1, 409: RACERS - 1}):
        tally.violations.append(f"{RACERS} concurrent pays: {dict(paid)}")

    # A due invoice paid by hand while good cards become primary (each switch charges what
    # is due): one charge in all, whoever wins.
    await step("make_primary", "POST", f"/v1/cards/{declining}/primary")
    invoice = await due_invoice()
    pays = [("pay", f"/v1/invoices/{invoice}/pay")] * (RACERS - len(good))
    switches = [("make_primary", f"/v1/cards/{card}/primary") for card in good]
    await race(pays + switches)
    settled = await step("get_invoice", "GET", f"/v1/invoices/{invoice}")
    if settled["status"] != "paid":
        tally.violations.append(f"pays racing primary switches left {settled['status']}")


async def _check_account(http: httpx.AsyncClient, user: dict[str, str], account: str) -> list[str]:
    problems: list[str] = []
    cards = (await http.get("/v1/cards", headers=user)).json()["data"]
    problems += card_problems(cards)
    invoices: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = (await http.get("/v1/invoices", headers=user, params=params)).json()
        invoices += page["data"]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    problems += numbering_problems(invoices)
    for item in invoices:
        response = await http.get(f"/v1/invoices/{item['id']}", headers=user)
        problems += payment_problems(response.json())
    return [f"{account}: {problem}" for problem in problems]


async def _charged_twice(engine: AsyncEngine) -> list[str]:
    """The sandbox provider's ledger: invoices with more than one successful charge."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(SandboxCharge.invoice_id, func.count())
            .where(SandboxCharge.status == SandboxChargeStatus.SUCCEEDED)
            .group_by(SandboxCharge.invoice_id)
            .having(func.count() > 1)
        )
        return [f"{invoice} charged {count} times at the provider" for invoice, count in rows]


async def test_a_storm_of_card_and_invoice_operations(settings, token, cleaner):  # type: ignore[no-untyped-def]
    config = make_settings(settings.database_url, database_pool_size=5, **NO_CARD_ADD_LIMIT)
    tally = Tally()
    shared = {account: Account() for account in [*ACCOUNTS, FINAL]}
    admin = {"Authorization": f"Bearer {token('platform', admin=True)}"}
    users = {account: {"Authorization": f"Bearer {token(account)}"} for account in shared}
    clients: list[httpx.AsyncClient] = []

    async with Server(config) as server:

        def make_client(account: str, n: int) -> Client:
            http = httpx.AsyncClient(
                base_url=server.url, limits=httpx.Limits(max_connections=1), timeout=60
            )
            clients.append(http)
            rng = random.Random(f"{SEED}-{account}-{n}")
            return Client(http, users[account], admin, account, shared[account], rng, tally)

        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                for account in shared:
                    await _set_up(http, admin, users[account], account)
            storm = [
                make_client(account, n) for account in ACCOUNTS for n in range(CLIENTS_PER_ACCOUNT)
            ]
            await asyncio.gather(*(client.run(OPERATIONS_PER_CLIENT) for client in storm))
            await _final_phase(make_client, tally)
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                for account in shared:
                    tally.violations += await _check_account(http, users[account], account)
        finally:
            for http in clients:
                await http.aclose()
    tally.violations += await _charged_twice(cleaner)

    for violation in tally.violations:
        print(f"VIOLATION {violation}")
    print(
        f"\nstorm: {tally.operations} operations from {len(ACCOUNTS) * CLIENTS_PER_ACCOUNT} "
        f"clients over {len(ACCOUNTS)} accounts (+{RACERS} racers): "
        f"{tally.server_errors} answers >= 500, {len(tally.unexpected)} outside the contract, "
        f"{len(tally.violations)} invariant violations"
    )
    for (operation, status, code), count in sorted(tally.answers.items(), key=str):
        print(f"  {operation:20} {status} {code or '':32} {count}")
    assert tally.operations >= 2000
    assert tally.server_errors == 0, tally.unexpected[:10]
    assert tally.unexpected == [], tally.unexpected[:10]
    assert tally.violations == [], tally.violations[:10]
    for outcome in [
        ("pay", 200, None),
        ("pay", 402, "card_declined"),
        ("finalize", 409, "invoice_not_draft"),
    ]:
        assert tally.answers[outcome] > 0, outcome

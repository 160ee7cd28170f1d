"""Isolation, generated from the app's own route table.

Account A gets one of everything (cards, setup intents, a payment intent, projects with their
own billing details, invoices in several states; the platform gets a webhook endpoint and
events). Then account B calls every account route that takes an id with A's ids: each must
answer 404, exactly as for a missing id, and change nothing of A's. Every `/v1/admin/...` route
called with an account's token must answer 403, and the platform's token is refused on every
account route.

The tables below say how to fill each route's ids and body. They must name every route the
app serves (in either provider mode): a new route fails `test_the_matrix_covers_every_route`
until it is classified here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from app.main import create_app
from tests.conftest import make_settings
from tests.factories import (
    VALID_BILLING_DETAILS,
    create_card,
    create_invoice,
    create_project,
    finalize_invoice,
    set_billing_details,
)
from tests.three_d_secure import AUTH_ALWAYS

A = "acct_matrix_a"
B = "acct_matrix_b"

Route = tuple[str, str]  # (method, path template)
Ids = dict[str, str]


@dataclass(frozen=True)
class Call:
    """How to call a route: its path parameters (from A's ids) and a valid body."""

    params: Callable[[Ids], dict[str, str]] = lambda ids: {}
    body: Callable[[Ids], Any] | None = None


def _ids(**names: str) -> Callable[[Ids], dict[str, str]]:
    """Path parameter -> key of A's ids, e.g. `_ids(card_id="spare_card")`."""
    return lambda ids: {param: ids[key] for param, key in names.items()}


SUCCESS = {"success": True}
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}

# Account routes with an id in the path: account B with account A's ids -> 404.
CROSS_ACCOUNT: dict[Route, Call] = {
    ("GET", "/v1/cards/setup-intents/{setup_intent_id}"): Call(
        _ids(setup_intent_id="open_setup_intent")
    ),
    ("POST", "/v1/cards/{card_id}/primary"): Call(_ids(card_id="spare_card")),
    ("DELETE", "/v1/cards/{card_id}"): Call(_ids(card_id="spare_card")),
    ("GET", "/v1/projects/{project_id}/billing-details"): Call(_ids(project_id="project")),
    ("PUT", "/v1/projects/{project_id}/billing-details"): Call(
        _ids(project_id="project"), lambda ids: VALID_BILLING_DETAILS
    ),
    ("DELETE", "/v1/projects/{project_id}/billing-details"): Call(_ids(project_id="project")),
    ("GET", "/v1/projects/{project_id}"): Call(_ids(project_id="project")),
    ("GET", "/v1/projects/{project_id}/invoices"): Call(_ids(project_id="project")),
    ("GET", "/v1/projects/{project_id}/invoices/export.csv"): Call(_ids(project_id="project")),
    ("GET", "/v1/invoices/{invoice_id}"): Call(_ids(invoice_id="due_invoice")),
    ("GET", "/v1/invoices/{invoice_id}/pdf"): Call(_ids(invoice_id="due_invoice")),
    ("POST", "/v1/invoices/{invoice_id}/pay"): Call(_ids(invoice_id="due_invoice")),
    ("POST", "/v1/sandbox/setup-intents/{setup_intent_id}/confirm"): Call(
        _ids(setup_intent_id="open_setup_intent"), lambda ids: CARD
    ),
    ("POST", "/v1/sandbox/setup-intents/{setup_intent_id}/authenticate"): Call(
        _ids(setup_intent_id="challenged_setup_intent"), lambda ids: SUCCESS
    ),
    ("POST", "/v1/sandbox/payment-intents/{payment_intent_id}/authenticate"): Call(
        _ids(payment_intent_id="payment_intent"), lambda ids: SUCCESS
    ),
}

# Every platform route: an account's token -> 403 (ids and bodies valid, so only the scope
# can refuse it).
ADMIN: dict[Route, Call] = {
    ("PUT", "/v1/admin/accounts/{account_id}/projects/{project_id}"): Call(
        lambda ids: {"account_id": A, "project_id": "proj_new"}, lambda ids: {"name": "Sneaky"}
    ),
    ("POST", "/v1/admin/invoices"): Call(body=lambda ids: _invoice_body(A, ids["project"])),
    ("POST", "/v1/admin/invoices/{invoice_id}/finalize"): Call(_ids(invoice_id="draft_invoice")),
    ("POST", "/v1/admin/invoices/{invoice_id}/void"): Call(_ids(invoice_id="due_invoice")),
    ("POST", "/v1/admin/invoices/{invoice_id}/mark-uncollectible"): Call(
        _ids(invoice_id="due_invoice")
    ),
    ("POST", "/v1/admin/webhook-endpoints"): Call(
        body=lambda ids: {"url": "https://attacker.example/hook", "events": ["*"]}
    ),
    ("GET", "/v1/admin/webhook-endpoints"): Call(),
    ("DELETE", "/v1/admin/webhook-endpoints/{endpoint_id}"): Call(_ids(endpoint_id="endpoint")),
    ("GET", "/v1/admin/events"): Call(),
    ("GET", "/v1/admin/events/{event_id}"): Call(_ids(event_id="event")),
    ("POST", "/v1/admin/events/{event_id}/redeliver"): Call(_ids(event_id="event")),
}

# Account routes without ids, with a valid body where they take one. The lists among them
# must not show A's ids to B.
WITHOUT_IDS: dict[Route, Any] = {
    ("GET", "/v1/cards"): None,
    ("POST", "/v1/cards"): {"payment_method": "pm_card_visa"},
    ("POST", "/v1/cards/setup-intents"): None,
    ("GET", "/v1/billing-details"): None,
    ("PUT", "/v1/billing-details"): VALID_BILLING_DETAILS,
    ("PATCH", "/v1/billing-details"): {"name": "Grace Hopper"},
    ("GET", "/v1/projects"): None,
    ("GET", "/v1/invoices"): None,
    ("GET", "/v1/invoices/export.csv"): None,
    ("POST", "/v1/sandbox/payment-methods"): CARD,
}
LISTS = [route for route in WITHOUT_IDS if route[0] == "GET"]

# No bearer token: operations, the docs, the portal's page config, Stripe's webhooks.
UNAUTHENTICATED: set[Route] = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/v1/portal/config"),
    ("POST", "/v1/webhooks/stripe"),
}


def _invoice_body(account_id: str, project_id: str) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "project_id": project_id,
        "currency": "eur",
        "period_start": "2026-10-01T00:00:00Z",
        "period_end": "2026-11-01T00:00:00Z",
        "lines": [{"description": "Compute", "quantity": 1, "unit_amount": 500}],
    }


def routes_of(app: FastAPI) -> set[Route]:
    """Every (method, path) the app answers; static mounts (docs assets, portal) have none."""
    found: set[Route] = set()
    for context in iter_route_contexts(app.routes):
        for method in context.methods or ():
            if method != "HEAD":
                found.add((method, context.path))
    return found


def _url(route: Route, call: Call, ids: Ids) -> str:
    return route[1].format(**call.params(ids))


async def _send(
    client: httpx.AsyncClient, route: Route, url: str, headers: dict[str, str], body: Any
) -> httpx.Response:
    if body is None:
        return await client.request(route[0], url, headers=headers)
    return await client.request(route[0], url, headers=headers, json=body)


async def _build_world(client: httpx.AsyncClient, auth: Callable[..., dict[str, str]]) -> Ids:
    """One of everything for account A, and a lived-in account B (its own cards, project)."""
    admin, user = auth(admin=True), auth(A)
    ids: Ids = {}
    ids["project"] = (await create_project(client, admin, A, "proj_a", "A's shop"))["id"]
    await set_billing_details(client, user)
    response = await client.put(
        f"/v1/projects/{ids['project']}/billing-details",
        headers=user,
        json={**VALID_BILLING_DETAILS, "name": "A's shop Ltd"},
    )
    assert response.status_code == 200, response.text
    # A primary card whose charges are declined (so an invoice stays payable), a spare one.
    await create_card(client, user, "4000000000000341")
    ids["spare_card"] = (await create_card(client, user, "5555555555554444"))["id"]

    async def setup_intent() -> str:
        response = await client.post("/v1/cards/setup-intents", headers=user)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    ids["open_setup_intent"] = await setup_intent()
    ids["challenged_setup_intent"] = await setup_intent()
    confirm = await client.post(
        f"/v1/sandbox/setup-intents/{ids['challenged_setup_intent']}/confirm",
        headers=user,
        json={**CARD, "number": AUTH_ALWAYS},
    )
    assert confirm.json()["status"] == "requires_action", confirm.text

    draft = await create_invoice(client, admin, A, ids["project"])
    due = await finalize_invoice(client, admin, draft["id"])
    assert due["status"] == "payment_due", due
    ids["due_invoice"] = due["id"]
    ids["draft_invoice"] = (await create_invoice(client, admin, A, ids["project"]))["id"]

    # A charge that waits for the cardholder's challenge: a payment intent of A's.
    saved = await setup_intent()
    response = await client.post(
        f"/v1/sandbox/setup-intents/{saved}/confirm",
        headers=user,
        json={**CARD, "number": AUTH_ALWAYS},
    )
    assert response.status_code == 200, response.text
    response = await client.post(
        f"/v1/sandbox/setup-intents/{saved}/authenticate", headers=user, json=SUCCESS
    )
    assert response.status_code == 200, response.text
    response = await client.post("/v1/cards", headers=user, json={"setup_intent": saved})
    assert response.status_code == 201, response.text
    strong_card = response.json()["id"]
    response = await client.post(f"/v1/cards/{strong_card}/primary", headers=user)
    assert response.status_code == 200, response.text
    challenged = await finalize_invoice(
        client, admin, (await create_invoice(client, admin, A, ids["project"]))["id"]
    )
    assert challenged["next_action"] is not None, challenged
    ids["payment_intent"] = challenged["next_action"]["payment_intent"]

    response = await client.post(
        "/v1/admin/webhook-endpoints",
        headers=admin,
        json={"url": "https://platform.example/hooks", "events": ["*"]},
    )
    assert response.status_code == 201, response.text
    ids["endpoint"] = response.json()["id"]
    events = await client.get("/v1/admin/events", headers=admin, params={"account_id": A})
    assert events.status_code == 200, events.text
    ids["event"] = events.json()["data"][0]["id"]

    # B is no empty shell: a card, billing details, a project of its own (another id).
    other = auth(B)
    await create_project(client, admin, B, "proj_b", "B's shop")
    await set_billing_details(client, other)
    await create_card(client, other, "4242424242424242")
    return ids


async def _snapshot(client: httpx.AsyncClient, auth: Callable[..., dict[str, str]], ids: Ids):  # type: ignore[no-untyped-def]
    """What A and the platform can see of A's things: must be unchanged by B's probes."""
    user, admin = auth(A), auth(admin=True)
    paths = [
        "/v1/cards",
        "/v1/invoices?limit=100",
        "/v1/projects",
        "/v1/billing-details",
        f"/v1/projects/{ids['project']}/billing-details",
        f"/v1/cards/setup-intents/{ids['open_setup_intent']}",
        f"/v1/cards/setup-intents/{ids['challenged_setup_intent']}",
    ]
    seen = {}
    for path in paths:
        response = await client.get(path, headers=user)
        assert response.status_code == 200, (path, response.text)
        seen[path] = response.json()
    for path in ("/v1/admin/webhook-endpoints", f"/v1/admin/events/{ids['event']}"):
        response = await client.get(path, headers=admin)
        assert response.status_code == 200, (path, response.text)
        seen[path] = response.json()
    events = await client.get("/v1/admin/events", headers=admin, params={"limit": 100})
    seen["event count"] = len(events.json()["data"])
    return seen


def test_the_matrix_covers_every_route(settings):  # type: ignore[no-untyped-def]
    """A route nobody classified fails here: add it to one of the tables above."""
    served: set[Route] = set()
    for provider in ("sandbox", "stripe"):
        extra: dict[str, Any] = {"payment_provider": provider}
        if provider == "stripe":
            extra |= {"stripe_api_key": "sk_test_matrix", "stripe_webhook_secret": "whsec_matrix"}
        served |= routes_of(create_app(make_settings(settings.database_url, **extra)))
    tables = [set(CROSS_ACCOUNT), set(ADMIN), set(WITHOUT_IDS), UNAUTHENTICATED]
    classified = set().union(*tables)
    assert sum(len(table) for table in tables) == len(classified), "a route is in two tables"
    assert served - classified == set(), "routes missing from the matrix"
    assert classified - served == set(), "the matrix names routes the app does not serve"
    assert {route for route in served if route[1].startswith("/v1/admin/")} == set(ADMIN)
    assert all("{" not in path for _, path in WITHOUT_IDS | dict.fromkeys(UNAUTHENTICATED))


@pytest.mark.sandbox_only
async def test_every_route_but_the_public_ones_needs_a_token(client, app):  # type: ignore[no-untyped-def]
    ids: Ids = dict.fromkeys(("project", "event", "endpoint"), "x_unknown")
    for route in sorted(routes_of(app) - UNAUTHENTICATED):
        call = CROSS_ACCOUNT.get(route) or ADMIN.get(route) or Call()
        params = dict.fromkeys(_param_names(route[1]), "x_unknown")
        url = route[1].format(**params)
        body = call.body(ids) if call.body else WITHOUT_IDS.get(route)
        response = await _send(client, route, url, {}, body)
        assert response.status_code == 401, (route, response.status_code, response.text)
        assert response.json()["code"] == "unauthenticated"


def _param_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


@pytest.mark.sandbox_only
async def test_another_accounts_ids_are_404_everywhere(client, app, auth):  # type: ignore[no-untyped-def]
    ids = await _build_world(client, auth)
    before = await _snapshot(client, auth, ids)
    served = routes_of(app)
    probed = []
    for route, call in sorted(CROSS_ACCOUNT.items()):
        if route not in served:  # e.g. the sandbox's routes in Stripe mode
            continue
        body = call.body(ids) if call.body else None
        response = await _send(client, route, _url(route, call, ids), auth(B), body)
        probed.append((route, response.status_code))
        assert response.status_code == 404, (route, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json", route
        for secret in ids.values():
            assert secret not in response.text or secret in _url(route, call, ids), route
    assert len(probed) == len(CROSS_ACCOUNT)
    # A 404 that acted anyway is no isolation: A's world is as it was.
    assert await _snapshot(client, auth, ids) == before


@pytest.mark.sandbox_only
async def test_lists_never_show_another_accounts_things(client, auth):  # type: ignore[no-untyped-def]
    ids = await _build_world(client, auth)
    for route in LISTS:
        response = await client.get(route[1], headers=auth(B))
        assert response.status_code == 200, (route, response.text)
        leaked = [key for key, value in ids.items() if value in response.text]
        assert leaked == [], (route, leaked)


@pytest.mark.sandbox_only
async def test_every_admin_route_refuses_an_accounts_token(client, auth):  # type: ignore[no-untyped-def]
    ids = await _build_world(client, auth)
    before = await _snapshot(client, auth, ids)
    for route, call in sorted(ADMIN.items()):
        body = call.body(ids) if call.body else None
        for account in (A, B):
            response = await _send(client, route, _url(route, call, ids), auth(account), body)
            assert response.status_code == 403, (route, account, response.text)
            assert response.json()["code"] == "forbidden", route
    assert await _snapshot(client, auth, ids) == before


@pytest.mark.sandbox_only
async def test_the_platforms_token_is_refused_on_every_account_route(client, auth):  # type: ignore[no-untyped-def]
    """The platform is not an account: not even one named after its token's `sub`."""
    ids = await _build_world(client, auth)
    before = await _snapshot(client, auth, ids)
    platform = {"Authorization": auth(A, admin=True)["Authorization"]}
    routes: list[tuple[Route, str, Any]] = [
        (route, _url(route, call, ids), call.body(ids) if call.body else None)
        for route, call in CROSS_ACCOUNT.items()
    ]
    routes += [(route, route[1], body) for route, body in WITHOUT_IDS.items()]
    for route, url, body in sorted(routes, key=lambda item: item[0]):
        response = await _send(client, route, url, platform, body)
        assert response.status_code == 403, (route, response.status_code, response.text)
        assert response.json()["code"] == "forbidden", route
    assert await _snapshot(client, auth, ids) == before

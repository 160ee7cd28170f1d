"""The platform's webhook endpoints and event log, through the admin API."""

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from app.events.secrets import SecretBox
from app.models.event import WebhookDelivery, WebhookEndpoint
from tests.events.helpers import create_endpoint, emit

ENDPOINTS = "/v1/admin/webhook-endpoints"


class TestEndpoints:
    async def test_the_secret_is_shown_once_and_stored_encrypted(
        self, app, client, admin, settings
    ):
        created = await create_endpoint(
            client, admin, "https://platform.example/hooks", ["invoice.paid", "invoice.not_paid"]
        )
        assert created["id"].startswith("we_")
        assert created["secret"].startswith("whsec_")
        assert created["events"] == ["invoice.paid", "invoice.not_paid"]
        assert created["url"] == "https://platform.example/hooks"

        listed = (await client.get(ENDPOINTS, headers=admin)).json()
        assert [e["id"] for e in listed["data"]] == [created["id"]]
        assert "secret" not in listed["data"][0]
        assert created["secret"] not in str(listed)

        async with app.state.runtime.sessionmaker() as session:
            row = (await session.execute(select(WebhookEndpoint))).scalar_one()
        secret_body = created["secret"].removeprefix("whsec_")
        assert secret_body not in row.encrypted_secret
        box = SecretBox(settings.webhook_key)
        assert box.open(row.id, row.encrypted_secret) == created["secret"]
        with pytest.raises(InvalidTag):  # the database alone is not enough
            SecretBox("another-server-secret").open(row.id, row.encrypted_secret)
        with pytest.raises(InvalidTag):  # nor is a ciphertext moved onto another endpoint
            box.open("we_other", row.encrypted_secret)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"url": "ftp://platform.example/hooks", "events": ["*"]}, "url"),
            ({"url": "file:///etc/passwd", "events": ["*"]}, "url"),
            ({"url": "not a url", "events": ["*"]}, "url"),
            ({"url": "https://user:pw@platform.example/", "events": ["*"]}, "url"),
            ({"url": "https://platform.example/", "events": ["invoice.exploded"]}, "events.0"),
            ({"url": "https://platform.example/", "events": []}, "events"),
            ({"url": "https://platform.example/", "events": ["*", "invoice.paid"]}, "events"),
            (
                {"url": "https://platform.example/", "events": ["card.added", "card.added"]},
                "events",
            ),
            ({"url": "https://platform.example/", "events": ["*"], "secret": "mine"}, "secret"),
        ],
    )
    async def test_bad_endpoints_are_refused(self, client, admin, body, field):
        response = await client.post(ENDPOINTS, headers=admin, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert field in [problem["field"] for problem in response.json()["errors"]]
        assert (await client.get(ENDPOINTS, headers=admin)).json()["data"] == []

    async def test_delete_removes_it_and_its_pending_deliveries(self, app, client, admin, clock):
        endpoint = await create_endpoint(client, admin, "http://127.0.0.1:9/hooks")
        await emit(app, clock)
        response = await client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=admin)
        assert response.status_code == 204
        again = await client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=admin)
        assert again.status_code == 404
        assert again.json()["code"] == "webhook_endpoint_not_found"
        async with app.state.runtime.sessionmaker() as session:
            assert (await session.execute(select(WebhookDelivery))).first() is None

    async def test_the_list_is_paginated_newest_first(self, client, admin):
        made = [await create_endpoint(client, admin, f"https://p.example/{n}") for n in range(3)]
        first = (await client.get(ENDPOINTS, headers=admin, params={"limit": 2})).json()
        assert [e["id"] for e in first["data"]] == [made[2]["id"], made[1]["id"]]
        assert first["has_more"] is True
        rest = await client.get(
            ENDPOINTS, headers=admin, params={"limit": 2, "cursor": first["next_cursor"]}
        )
        assert [e["id"] for e in rest.json()["data"]] == [made[0]["id"]]

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", ENDPOINTS),
            ("GET", ENDPOINTS),
            ("DELETE", f"{ENDPOINTS}/we_x"),
            ("GET", "/v1/admin/events"),
            ("GET", "/v1/admin/events/evt_x"),
            ("POST", "/v1/admin/events/evt_x/redeliver"),
        ],
    )
    async def test_only_the_platform_may_call(self, client, auth, method, path):
        body = {"url": "https://p.example/", "events": ["*"]} if method == "POST" else None
        response = await client.request(method, path, headers=auth("acct_1"), json=body)
        assert response.status_code == 403
        assert (await client.request(method, path, json=body)).status_code == 401


class TestEventLog:
    async def test_filters_and_pages_newest_first(self, app, client, admin, clock):
        older = await emit(app, clock, count=3, account_id="acct_a")
        newer = await emit(app, clock, count=2, account_id="acct_b")
        events = "/v1/admin/events"
        everything = (await client.get(events, headers=admin)).json()
        assert [e["id"] for e in everything["data"]] == [*reversed(newer), *reversed(older)]
        only_a = (await client.get(events, headers=admin, params={"account_id": "acct_a"})).json()
        assert [e["id"] for e in only_a["data"]] == list(reversed(older))
        by_type = await client.get(events, headers=admin, params={"type": "invoice.paid"})
        assert by_type.json()["data"] == []

        page = (await client.get(events, headers=admin, params={"limit": 2})).json()
        seen = [e["id"] for e in page["data"]]
        while page["has_more"]:
            params = {"limit": 2, "cursor": page["next_cursor"]}
            page = (await client.get(events, headers=admin, params=params)).json()
            seen += [e["id"] for e in page["data"]]
        assert seen == [*reversed(newer), *reversed(older)]

    @pytest.mark.parametrize(
        "params",
        [
            {"type": "card.exploded"},
            {"limit": 0},
            {"limit": 101},
            {"cursor": "garbage"},
            {"account_id": "bad id"},
        ],
    )
    async def test_bad_queries_are_422(self, client, admin, params):
        response = await client.get("/v1/admin/events", headers=admin, params=params)
        assert response.status_code == 422, response.text

    async def test_unknown_events_are_404(self, client, admin):
        for response in (
            await client.get("/v1/admin/events/evt_nope", headers=admin),
            await client.post("/v1/admin/events/evt_nope/redeliver", headers=admin),
        ):
            assert response.status_code == 404
            assert response.json()["code"] == "event_not_found"

"""Projects through the HTTP API: registration by the platform, listing, isolation."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.clock import START
from tests.factories import create_project

ACCOUNT = "acct_projects"


async def register(
    client: httpx.AsyncClient, headers: dict[str, str], account_id: str, project_id: str, body: Any
) -> httpx.Response:
    return await client.put(
        f"/v1/admin/accounts/{account_id}/projects/{project_id}", headers=headers, json=body
    )


async def all_pages(
    client: httpx.AsyncClient, headers: dict[str, str], limit: int
) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get("/v1/projects", headers=headers, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return pages
        cursor = page["next_cursor"]
        assert len(pages) < 10, "pagination does not terminate"


class TestRegisterProject:
    async def test_first_registration_creates_the_project(self, client, auth):
        response = await register(
            client, auth(admin=True), ACCOUNT, "proj_web", {"name": "Web shop"}
        )
        assert response.status_code == 201
        body = response.json()
        assert body == {
            "id": "proj_web",
            "account_id": ACCOUNT,
            "name": "Web shop",
            "created_at": body["created_at"],
            "updated_at": body["created_at"],
        }
        assert body["created_at"].endswith("Z")

    async def test_registering_again_renames(self, client, auth, clock):
        admin = auth(admin=True)
        created = await create_project(client, admin, ACCOUNT, "proj_web", "Web shop")
        clock.advance(timedelta(days=1))
        response = await register(client, admin, ACCOUNT, "proj_web", {"name": "Online store"})
        assert response.status_code == 200
        renamed = response.json()
        assert renamed["name"] == "Online store"
        assert renamed["created_at"] == created["created_at"]
        assert renamed["updated_at"] > created["updated_at"]
        listed = (await client.get("/v1/projects", headers=auth(ACCOUNT))).json()["data"]
        assert [(p["id"], p["name"]) for p in listed] == [("proj_web", "Online store")]

    async def test_concurrent_registrations_create_the_project_once(self, client, auth):
        admin = auth(admin=True)
        responses = await asyncio.gather(
            *(register(client, admin, ACCOUNT, "proj_1", {"name": f"Name {n}"}) for n in range(6))
        )
        assert sorted(response.status_code for response in responses) == [200] * 5 + [201]
        listed = (await client.get("/v1/projects", headers=auth(ACCOUNT))).json()["data"]
        assert [project["id"] for project in listed] == ["proj_1"]

    async def test_creates_the_account_before_its_first_request(self, client, auth):
        await create_project(client, auth(admin=True), "acct_brand_new", "proj_1")
        response = await client.get("/v1/projects", headers=auth("acct_brand_new"))
        assert [p["id"] for p in response.json()["data"]] == ["proj_1"]

    @pytest.mark.parametrize(
        ("account_id", "project_id", "field"),
        [
            ("acct ws", "proj_1", "account_id"),
            ("a" * 65, "proj_1", "account_id"),
            (ACCOUNT, "proj%201", "project_id"),
            (ACCOUNT, "proj!", "project_id"),
            (ACCOUNT, "p" * 65, "project_id"),
        ],
    )
    async def test_ids_outside_the_platform_pattern_are_422(
        self, client, auth, account_id, project_id, field
    ):
        response = await register(
            client, auth(admin=True), account_id, project_id, {"name": "Web shop"}
        )
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert [error["field"] for error in response.json()["errors"]] == [field]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "name"),
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"name": 42}, "name"),
            ({"name": "Web shop", "owner": "me"}, "owner"),
        ],
    )
    async def test_bad_body_is_422(self, client, auth, body, field):
        response = await register(client, auth(admin=True), ACCOUNT, "proj_1", body)
        assert response.status_code == 422
        assert [error["field"] for error in response.json()["errors"]] == [field]
        assert (await client.get("/v1/projects", headers=auth(ACCOUNT))).json()["data"] == []

    async def test_account_token_without_admin_scope_is_403(self, client, auth):
        response = await register(client, auth(ACCOUNT), ACCOUNT, "proj_1", {"name": "Mine"})
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
        assert (await client.get("/v1/projects", headers=auth(ACCOUNT))).json()["data"] == []

    async def test_without_token_is_401(self, client):
        response = await client.put(
            f"/v1/admin/accounts/{ACCOUNT}/projects/proj_1", json={"name": "Mine"}
        )
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"


class TestGetProject:
    async def test_returns_the_project(self, client, auth):
        created = await create_project(client, auth(admin=True), ACCOUNT, "proj_1", "Web shop")
        response = await client.get("/v1/projects/proj_1", headers=auth(ACCOUNT))
        assert response.status_code == 200
        assert response.json() == created

    async def test_unknown_project_is_404(self, client, auth):
        response = await client.get("/v1/projects/proj_nope", headers=auth(ACCOUNT))
        assert response.status_code == 404
        assert response.json()["code"] == "project_not_found"


class TestListProjects:
    async def test_empty_list(self, client, auth):
        response = await client.get("/v1/projects", headers=auth(ACCOUNT))
        assert response.status_code == 200
        assert response.json() == {"data": [], "has_more": False, "next_cursor": None}

    async def test_pages_walk_every_project_once_newest_first(self, client, auth):
        admin = auth(admin=True)
        for index in range(25):
            await create_project(client, admin, ACCOUNT, f"proj_{index:02d}", f"Project {index}")
        pages = await all_pages(client, auth(ACCOUNT), limit=10)
        assert [len(page["data"]) for page in pages] == [10, 10, 5]
        assert [page["has_more"] for page in pages] == [True, True, False]
        ids = [project["id"] for page in pages for project in page["data"]]
        assert ids == [f"proj_{index:02d}" for index in reversed(range(25))]

    async def test_projects_created_in_the_same_instant_page_without_gaps(
        self, client, auth, clock
    ):
        admin = auth(admin=True)
        for index in range(7):
            clock.set(START)
            await create_project(client, admin, ACCOUNT, f"proj_{index}")
        pages = await all_pages(client, auth(ACCOUNT), limit=3)
        ids = [project["id"] for page in pages for project in page["data"]]
        assert ids == [f"proj_{index}" for index in reversed(range(7))]

    async def test_default_limit_is_20(self, client, auth):
        admin = auth(admin=True)
        for index in range(21):
            await create_project(client, admin, ACCOUNT, f"proj_{index:02d}")
        page = (await client.get("/v1/projects", headers=auth(ACCOUNT))).json()
        assert len(page["data"]) == 20
        assert page["has_more"] is True

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"cursor": "W10"}, "cursor"),
            ({"limit": 0}, "limit"),
            ({"limit": 101}, "limit"),
        ],
    )
    async def test_bad_paging_parameters_are_422(self, client, auth, params, field):
        response = await client.get("/v1/projects", headers=auth(ACCOUNT), params=params)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
        assert [error["field"] for error in response.json()["errors"]] == [field]

    async def test_needs_a_token(self, client):
        response = await client.get("/v1/projects")
        assert response.status_code == 401


class TestIsolation:
    async def test_another_accounts_projects_are_invisible(self, client, auth):
        admin = auth(admin=True)
        await create_project(client, admin, "acct_a", "proj_a", "A's project")
        other = auth("acct_b")
        assert (await client.get("/v1/projects", headers=other)).json()["data"] == []
        response = await client.get("/v1/projects/proj_a", headers=other)
        assert response.status_code == 404
        assert response.json()["code"] == "project_not_found"

    async def test_same_project_id_under_two_accounts_are_two_projects(self, client, auth):
        admin = auth(admin=True)
        await create_project(client, admin, "acct_a", "proj_1", "A's")
        response = await register(client, admin, "acct_b", "proj_1", {"name": "B's"})
        assert response.status_code == 201
        mine = (await client.get("/v1/projects/proj_1", headers=auth("acct_a"))).json()
        assert (mine["account_id"], mine["name"]) == ("acct_a", "A's")

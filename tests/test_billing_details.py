"""Billing details through the HTTP API: validation, replace and merge, provider sync,
project overrides, isolation."""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.payments.errors import PaymentProviderUnavailable
from app.payments.provider import CustomerDetails
from app.sandbox.provider import SandboxProvider
from tests.factories import VALID_BILLING_DETAILS, create_project, set_billing_details

ACCOUNT = "acct_details"
MANDATORY = [
    "name",
    "email",
    "address.line1",
    "address.city",
    "address.postal_code",
    "address.country",
]
EMPTY_ADDRESS = dict.fromkeys(("line1", "line2", "city", "postal_code", "state", "country"))
# A valid German VAT number from python-stdnum's own test data.
GERMAN_VAT = "DE136695976"


def details(**overrides: Any) -> dict[str, Any]:
    """VALID_BILLING_DETAILS with top-level fields and `address` fields replaced."""
    address = {**VALID_BILLING_DETAILS["address"], **overrides.pop("address", {})}
    return {**VALID_BILLING_DETAILS, **overrides, "address": address}


async def get_details(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/v1/billing-details", headers=headers)
    assert response.status_code == 200
    return dict(response.json())


def error_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    return [error["field"] for error in response.json()["errors"]]


@dataclass
class Outage:
    on: bool = False


class WatchedSandbox(SandboxProvider):
    """The sandbox provider, recording what its customer is sent, or refusing it."""

    def __init__(
        self, session: Any, settings: Any, clock: Any, sent: list[CustomerDetails], down: Outage
    ) -> None:
        super().__init__(session, settings, clock)
        self._sent = sent
        self._down = down

    async def update_customer(self, customer_id: str, details: CustomerDetails) -> None:
        if self._down.on:
            raise PaymentProviderUnavailable("The payment provider did not answer.")
        self._sent.append(details)


@pytest.fixture
def synced() -> list[CustomerDetails]:
    """What the provider's customer was sent, in order."""
    return []


@pytest.fixture
def outage() -> Outage:
    return Outage()


class TestGet:
    async def test_nothing_set_yet(self, client, auth):
        assert await get_details(client, auth(ACCOUNT)) == {
            "name": None,
            "email": None,
            "address": EMPTY_ADDRESS,
            "vat_id": None,
            "preferred_locale": "en",
            "is_complete": False,
            "missing_fields": MANDATORY,
            "updated_at": None,
        }

    async def test_needs_a_token(self, client):
        response = await client.get("/v1/billing-details")
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"


class TestReplace:
    async def test_valid_details_are_stored_and_complete(self, client, auth):
        headers = auth(ACCOUNT)
        body = await set_billing_details(client, headers)
        assert body == {
            **VALID_BILLING_DETAILS,
            "preferred_locale": "en",
            "is_complete": True,
            "missing_fields": [],
            "updated_at": body["updated_at"],
        }
        assert body["updated_at"].endswith("Z")
        assert await get_details(client, headers) == body

    async def test_fields_left_out_are_cleared(self, client, auth):
        headers = auth(ACCOUNT)
        await set_billing_details(
            client, headers, **details(address={"line2": "Floor 3"}, vat_id="GB980780684")
        )
        response = await client.put(
            "/v1/billing-details",
            headers=headers,
            json={
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "address": {
                    "line1": "12 Analytical Row",
                    "city": "London",
                    "postal_code": "N1 9GU",
                    "country": "GB",
                },
            },
        )
        assert response.status_code == 200
        stored = await get_details(client, headers)
        assert stored["address"]["line2"] is None
        assert stored["vat_id"] is None

    async def test_every_missing_mandatory_field_is_named_at_once(self, client, auth):
        response = await client.put("/v1/billing-details", headers=auth(ACCOUNT), json={})
        assert error_fields(response) == MANDATORY
        assert {error["type"] for error in response.json()["errors"]} == {"missing"}

    async def test_blank_strings_count_as_missing(self, client, auth):
        body = details(name="  ", address={"city": ""})
        response = await client.put("/v1/billing-details", headers=auth(ACCOUNT), json=body)
        assert error_fields(response) == ["name", "address.city"]

    async def test_bad_and_missing_fields_are_named_together(self, client, auth):
        body = details(
            name=None, email="not-an-email", vat_id="DE123456789", address={"country": "XX"}
        )
        response = await client.put("/v1/billing-details", headers=auth(ACCOUNT), json=body)
        assert error_fields(response) == ["name", "email", "address.country"]

    @pytest.mark.parametrize("country", ["XX", "DEU", "D", "12", "Germany"])
    async def test_bad_country_is_422(self, client, auth, country):
        body = details(address={"country": country})
        response = await client.put("/v1/billing-details", headers=auth(ACCOUNT), json=body)
        assert error_fields(response) == ["address.country"]
        assert (await get_details(client, auth(ACCOUNT)))["updated_at"] is None

    async def test_country_is_stored_upper_case(self, client, auth):
        body = await set_billing_details(
            client, auth(ACCOUNT), **details(address={"country": "gb"})
        )
        assert body["address"]["country"] == "GB"

    @pytest.mark.parametrize("email", ["ada", "ada@", "@example.com", "ada@@example.com"])
    async def test_bad_email_is_422(self, client, auth, email):
        response = await client.put(
            "/v1/billing-details", headers=auth(ACCOUNT), json=details(email=email)
        )
        assert error_fields(response) == ["email"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (details(name=123), "name"),
            (details(address={"city": 5}), "address.city"),
            ({**details(), "address": "12 Analytical Row, London"}, "address"),
            (details(name="x" * 201), "name"),
        ],
    )
    async def test_wrong_types_are_422_with_dotted_names(self, client, auth, body, field):
        response = await client.put("/v1/billing-details", headers=auth(ACCOUNT), json=body)
        assert error_fields(response) == [field]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**details(), "phone": "+44 20 7946 0000"}, "phone"),
            (details(address={"street": "Analytical Row"}), "address.street"),
        ],
    )
    async def test_unknown_fields_are_422(self, client, auth, body, field):
        response = await client.put("/v1/billing-details", headers=auth(ACCOUNT), json=body)
        assert error_fields(response) == [field]


class TestState:
    @pytest.mark.parametrize("country", ["US", "CA", "AU"])
    async def test_state_is_required_for_us_canada_and_australia(self, client, auth, country):
        body = details(address={"country": country, "state": None})
        response = await client.put("/v1/billing-details", headers=auth(ACCOUNT), json=body)
        assert error_fields(response) == ["address.state"]

    @pytest.mark.parametrize(
        ("country", "state", "stored"),
        [
            ("US", "CA", "CA"),
            ("US", "ny", "NY"),
            ("US", "california", "CA"),
            ("US", "District of Columbia", "DC"),
            ("CA", "QC", "QC"),
            ("CA", "British Columbia", "BC"),
            ("AU", "nsw", "NSW"),
            ("AU", "Victoria", "VIC"),
        ],
    )
    async def test_valid_state_is_stored_as_its_code(self, client, auth, country, state, stored):
        body = await set_billing_details(
            client, auth(ACCOUNT), **details(address={"country": country, "state": state})
        )
        assert body["address"]["state"] == stored
        assert body["is_complete"] is True

    @pytest.mark.parametrize(
        ("country", "state"), [("US", "Narnia"), ("US", "NSW"), ("CA", "TX"), ("AU", "US-CA")]
    )
    async def test_state_of_another_country_is_422(self, client, auth, country, state):
        body = details(address={"country": country, "state": state})
        response = await client.put("/v1/billing-details", headers=auth(ACCOUNT), json=body)
        assert error_fields(response) == ["address.state"]

    async def test_other_countries_keep_their_state_as_given(self, client, auth):
        body = await set_billing_details(
            client, auth(ACCOUNT), **details(address={"state": "Greater London"})
        )
        assert body["address"]["state"] == "Greater London"


class TestVatId:
    async def test_valid_german_vat_id_is_stored_compact(self, client, auth):
        body = await set_billing_details(
            client,
            auth(ACCOUNT),
            **details(vat_id="de 136 695 976", address={"country": "DE", "postal_code": "10115"}),
        )
        assert body["vat_id"] == GERMAN_VAT

    async def test_greek_vat_id_uses_the_el_prefix(self, client, auth):
        headers = auth(ACCOUNT)
        for given in ("EL094259216", "GR094259216"):
            body = await set_billing_details(
                client, headers, **details(vat_id=given, address={"country": "GR"})
            )
            assert body["vat_id"] == "EL094259216"

    @pytest.mark.parametrize(
        ("country", "vat_id"),
        [
            ("DE", "DE123456789"),
            ("DE", "DE13669597"),
            ("DE", "136695976"),
            ("DE", "FR40303265045"),
            ("FR", GERMAN_VAT),
        ],
    )
    async def test_bad_eu_vat_id_is_422(self, client, auth, country, vat_id):
        body = details(vat_id=vat_id, address={"country": country})
        response = await client.put("/v1/billing-details", headers=auth(ACCOUNT), json=body)
        assert error_fields(response) == ["vat_id"]

    async def test_outside_the_eu_the_vat_id_is_kept_as_given(self, client, auth):
        body = await set_billing_details(client, auth(ACCOUNT), **details(vat_id="GB980780684"))
        assert body["vat_id"] == "GB980780684"


class TestPatch:
    async def test_fields_sent_replace_and_address_merges(self, client, auth):
        headers = auth(ACCOUNT)
        await set_billing_details(client, headers, **details(address={"line2": "Floor 3"}))
        response = await client.patch(
            "/v1/billing-details",
            headers=headers,
            json={"name": "Countess of Lovelace", "address": {"city": "Manchester"}},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["name"] == "Countess of Lovelace"
        assert body["address"] == {
            **VALID_BILLING_DETAILS["address"],
            "line2": "Floor 3",
            "city": "Manchester",
        }
        assert await get_details(client, headers) == body

    async def test_null_clears_an_optional_field(self, client, auth):
        headers = auth(ACCOUNT)
        await set_billing_details(
            client, headers, **details(vat_id="GB980780684", address={"line2": "Floor 3"})
        )
        response = await client.patch(
            "/v1/billing-details",
            headers=headers,
            json={"vat_id": None, "address": {"line2": None}},
        )
        assert response.status_code == 200
        assert response.json()["vat_id"] is None
        assert response.json()["address"]["line2"] is None

    async def test_merge_patch_media_type_is_accepted(self, client, auth):
        headers = auth(ACCOUNT)
        await set_billing_details(client, headers)
        response = await client.patch(
            "/v1/billing-details",
            headers={**headers, "Content-Type": "application/merge-patch+json"},
            content=b'{"email": "countess@example.com"}',
        )
        assert response.status_code == 200
        assert response.json()["email"] == "countess@example.com"

    @pytest.mark.parametrize(
        ("patch", "fields"),
        [
            ({"email": None}, ["email"]),
            ({"address": {"country": "US"}}, ["address.state"]),
            ({"address": None}, MANDATORY[2:]),
            ({"vat_id": "DE123456789", "address": {"country": "DE"}}, ["vat_id"]),
            ({"name": None, "address": {"country": "XX"}}, ["name", "address.country"]),
        ],
    )
    async def test_invalid_result_is_422_and_changes_nothing(self, client, auth, patch, fields):
        headers = auth(ACCOUNT)
        before = await set_billing_details(client, headers)
        response = await client.patch("/v1/billing-details", headers=headers, json=patch)
        assert error_fields(response) == fields
        assert await get_details(client, headers) == before

    async def test_patch_before_anything_is_set_names_what_is_still_missing(self, client, auth):
        headers = auth(ACCOUNT)
        response = await client.patch(
            "/v1/billing-details", headers=headers, json={"name": "Ada", "email": "ada@example.com"}
        )
        assert error_fields(response) == MANDATORY[2:]
        assert (await get_details(client, headers))["updated_at"] is None

    async def test_unknown_field_is_422(self, client, auth):
        headers = auth(ACCOUNT)
        await set_billing_details(client, headers)
        response = await client.patch(
            "/v1/billing-details", headers=headers, json={"address": {"zip": "N1 9GU"}}
        )
        assert error_fields(response) == ["address.zip"]


# A provider double watches the sync here; Stripe mode has test_stripe_billing_details.
@pytest.mark.sandbox_only
class TestProviderSync:
    @pytest.fixture
    def provider_factory(self, settings, clock, synced, outage):  # type: ignore[no-untyped-def]
        return lambda session: WatchedSandbox(session, settings, clock, synced, outage)

    async def test_put_and_patch_update_the_customer(self, client, auth, synced):
        headers = auth(ACCOUNT)
        await set_billing_details(
            client,
            headers,
            **details(vat_id="DE 136 695 976", address={"country": "de", "postal_code": "10115"}),
        )
        await client.patch("/v1/billing-details", headers=headers, json={"name": "Countess"})
        assert [(sent.name, sent.country, sent.vat_id) for sent in synced] == [
            ("Ada Lovelace", "DE", GERMAN_VAT),
            ("Countess", "DE", GERMAN_VAT),
        ]

    async def test_rejected_details_are_not_sent(self, client, auth, synced):
        await client.put("/v1/billing-details", headers=auth(ACCOUNT), json={})
        assert synced == []

    async def test_project_overrides_are_not_sent(self, client, auth, synced):
        await create_project(client, auth(admin=True), ACCOUNT, "proj_1")
        response = await client.put(
            "/v1/projects/proj_1/billing-details", headers=auth(ACCOUNT), json=details()
        )
        assert response.status_code == 200
        assert synced == []

    async def test_provider_failure_leaves_the_details_unchanged(self, client, auth, outage):
        headers = auth(ACCOUNT)
        before = await set_billing_details(client, headers)
        outage.on = True
        response = await client.put(
            "/v1/billing-details", headers=headers, json=details(name="Countess")
        )
        assert response.status_code == 503
        assert response.json()["code"] == "payment_provider_unavailable"
        assert await get_details(client, headers) == before


class TestProjectOverride:
    async def test_source_follows_the_override(self, client, auth):
        headers = auth(ACCOUNT)
        account = await set_billing_details(client, headers)
        await create_project(client, auth(admin=True), ACCOUNT, "proj_1")
        url = "/v1/projects/proj_1/billing-details"

        inherited = (await client.get(url, headers=headers)).json()
        assert inherited == {**account, "source": "account"}

        override = details(name="Web shop GmbH", address={"country": "DE", "postal_code": "10115"})
        response = await client.put(url, headers=headers, json={**override, "vat_id": GERMAN_VAT})
        assert response.status_code == 200
        assert response.json()["source"] == "project"
        assert response.json()["name"] == "Web shop GmbH"
        assert (await client.get(url, headers=headers)).json() == response.json()
        assert await get_details(client, headers) == account

        response = await client.delete(url, headers=headers)
        assert response.status_code == 200
        assert response.json() == {**account, "source": "account"}
        assert (await client.get(url, headers=headers)).json()["source"] == "account"

    async def test_delete_without_override_is_idempotent(self, client, auth):
        headers = auth(ACCOUNT)
        await create_project(client, auth(admin=True), ACCOUNT, "proj_1")
        response = await client.delete("/v1/projects/proj_1/billing-details", headers=headers)
        assert response.status_code == 200
        assert response.json()["source"] == "account"
        assert response.json()["is_complete"] is False
        assert response.json()["missing_fields"] == MANDATORY

    async def test_override_is_validated_like_the_account_details(self, client, auth):
        headers = auth(ACCOUNT)
        await create_project(client, auth(admin=True), ACCOUNT, "proj_1")
        response = await client.put(
            "/v1/projects/proj_1/billing-details",
            headers=headers,
            json=details(email="nope", address={"country": "US"}),
        )
        assert error_fields(response) == ["email", "address.state"]
        got = await client.get("/v1/projects/proj_1/billing-details", headers=headers)
        assert got.json()["source"] == "account"

    async def test_override_applies_to_its_project_only(self, client, auth):
        headers = auth(ACCOUNT)
        admin = auth(admin=True)
        await create_project(client, admin, ACCOUNT, "proj_1")
        await create_project(client, admin, ACCOUNT, "proj_2")
        await client.put(
            "/v1/projects/proj_1/billing-details", headers=headers, json=details(name="One")
        )
        other = await client.get("/v1/projects/proj_2/billing-details", headers=headers)
        assert (other.json()["source"], other.json()["name"]) == ("account", None)

    @pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
    async def test_unknown_project_is_404(self, client, auth, method):
        response = await client.request(
            method,
            "/v1/projects/proj_nope/billing-details",
            headers=auth(ACCOUNT),
            json=details() if method == "PUT" else None,
        )
        assert response.status_code == 404
        assert response.json()["code"] == "project_not_found"


class TestIsolation:
    async def test_another_account_never_sees_the_details(self, client, auth):
        await set_billing_details(client, auth("acct_a"))
        assert (await get_details(client, auth("acct_b")))["updated_at"] is None

    async def test_another_accounts_project_is_404(self, client, auth):
        await create_project(client, auth(admin=True), "acct_a", "proj_a")
        other = auth("acct_b")
        url = "/v1/projects/proj_a/billing-details"
        for method in ("GET", "PUT", "DELETE"):
            response = await client.request(
                method, url, headers=other, json=details() if method == "PUT" else None
            )
            assert response.status_code == 404, method
            assert response.json()["code"] == "project_not_found"
        inherited = await client.get(url, headers=auth("acct_a"))
        assert inherited.json()["source"] == "account"

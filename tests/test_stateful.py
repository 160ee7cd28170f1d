"""A Hypothesis state machine plays an account and the platform against the HTTP API.

Rules: add a card (good ones, ones declined when added, ones whose charges fail), switch the
primary card, delete a card (the primary one too), and as the platform create, finalize,
void and mark invoices uncollectible; the account pays them (also in two journeys: a bill
paid at once, a card fixed to pay what was given up on). Each answer is checked against
a small model (which cards exist, which is primary, each invoice's last known state), and
after every step the invariants are read back through GET (tests/invariants.py): exactly
one primary card, numbers gapless and unique, no invoice charged twice, paid means
`paid_at`, every status change one the state machine allows.

Hypothesis is synchronous: the app runs in an anyio blocking portal, one event loop (and so
one connection pool) for the whole run, called through httpx's ASGI transport. The examples
are derandomized (the same ones every run); each example is a new account.
"""

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar

import httpx
import hypothesis
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.core.auth import issue_token
from app.core.config import Settings
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import VALID_BILLING_DETAILS, invoice_body
from tests.invariants import (
    NO_CARD_ADD_LIMIT,
    card_problems,
    numbering_problems,
    payment_problems,
    state_of,
    transition_problem,
)
from tests.three_d_secure import AUTH_ALWAYS

# Cards that are added fine and charged fine (one fingerprint each).
GOOD = [
    "4242424242424242",
    "5555555555554444",
    "378282246310005",
    "6011111111111117",
    "3566002020360505",
    "4000056655665556",
]
# Added fine, every charge fails with this code.
CHARGE_FAILS = {
    "4000000000000341": "card_declined",
    "4000000000009995": "insufficient_funds",
    AUTH_ALWAYS: "authentication_required",
}
# Refused when added, with this code.
ADD_FAILS = {
    "4000000000000002": "card_declined",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
}
MAX_CARDS = 10
# Invoices per example: enough for every state at once; more would only make each step's
# read-back longer.
MAX_INVOICES = 8
# Invoice actions and the invoice states each applies to (elsewhere: 409).
ACTIONS = {
    "finalize": ("draft",),
    "pay": ("payment_due", "not_paid"),
    "void": ("draft", "payment_pending", "payment_due", "not_paid"),
    "mark_uncollectible": ("payment_pending", "payment_due"),
}


def _where_it_fits(action: str) -> Any:
    """A rule: the action on one of the invoices in a state it applies to, if any."""

    @precondition(lambda self: self._fitting(*ACTIONS[action]))
    @rule(data=st.data())
    def act(self: "CardsAndInvoices", data: st.DataObject) -> None:
        invoices = self._fitting(*ACTIONS[action])
        getattr(self, action)(data.draw(st.sampled_from(invoices), label="invoice"))

    act.__name__ = f"{action}_where_it_fits"
    return act


class Blocking:
    """A synchronous client of an ASGI app that runs in the portal's event loop."""

    def __init__(self, portal: BlockingPortal, app: Any) -> None:
        self.portal = portal
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.portal.call(partial(self.client.request, method, url, **kwargs))


class CardsAndInvoices(RuleBasedStateMachine):
    http: ClassVar[Blocking]
    config: ClassVar[Settings]
    accounts: ClassVar[Iterator[int]]
    run_id: ClassVar[str]

    cards = Bundle("cards")

    def __init__(self) -> None:
        super().__init__()
        self.account = f"acct_sm_{self.run_id}_{next(self.accounts)}"
        self.user = self._headers(admin=False)
        self.admin = self._headers(admin=True)
        self.card_numbers: dict[str, str] = {}  # card id -> number, cards that exist
        self.primary: str | None = None
        self.seen: dict[str, dict[str, Any]] = {}  # invoice id -> last list item seen
        self.created: list[str] = []  # invoice ids, oldest first

    def _headers(self, *, admin: bool) -> dict[str, str]:
        token = issue_token(
            self.config, self.account, now=datetime.now(UTC), ttl=timedelta(hours=1), admin=admin
        )
        return {"Authorization": f"Bearer {token}"}

    def _call(
        self, method: str, url: str, *, admin: bool = False, json: Any = None
    ) -> httpx.Response:
        response = self.http.request(
            method, url, headers=self.admin if admin else self.user, json=json
        )
        assert response.status_code < 500, (method, url, response.status_code, response.text)
        return response

    @staticmethod
    def _expect(response: httpx.Response, status: int, code: str | None = None) -> None:
        assert response.status_code == status, (status, code, response.status_code, response.text)
        if code is not None:
            assert response.json()["code"] == code, response.text

    # --- set-up ---------------------------------------------------------------------------

    @initialize()
    def register(self) -> None:
        url = f"/v1/admin/accounts/{self.account}/projects/proj_1"
        self._expect(self._call("PUT", url, admin=True, json={"name": "Shop"}), 201)
        self._expect(self._call("PUT", "/v1/billing-details", json=VALID_BILLING_DETAILS), 200)

    # --- cards ----------------------------------------------------------------------------

    # A third of the cards added are charged fine, a third declined at every charge, a third
    # refused when added: invoices go `payment_due` often enough for pay/void to matter.
    @rule(
        target=cards,
        number=st.one_of(
            st.sampled_from(GOOD),
            st.sampled_from(list(CHARGE_FAILS)),
            st.sampled_from(list(ADD_FAILS)),
        ),
    )
    def add_card(self, number: str) -> str:
        cvc = "1234" if number.startswith(("34", "37")) else "123"
        card = {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": cvc}
        method = self._call("POST", "/v1/sandbox/payment-methods", json=card)
        self._expect(method, 201)
        response = self._call("POST", "/v1/cards", json={"payment_method": method.json()["id"]})
        if len(self.card_numbers) >= MAX_CARDS:
            self._expect(response, 409, "card_limit_reached")
        elif number in ADD_FAILS:
            self._expect(response, 402, ADD_FAILS[number])
        elif number in self.card_numbers.values():
            self._expect(response, 409, "card_already_added")
        else:
            self._expect(response, 201)
            added = response.json()
            assert added["is_primary"] == (self.primary is None), added
            self.card_numbers[added["id"]] = number
            if self.primary is None:
                self.primary = added["id"]
            return str(added["id"])
        return f"card_never_added_{uuid.uuid4().hex[:8]}"

    @rule(card=cards)
    def make_primary(self, card: str) -> None:
        response = self._call("POST", f"/v1/cards/{card}/primary")
        if card not in self.card_numbers:
            self._expect(response, 404, "card_not_found")
            return
        self._expect(response, 200)
        assert response.json()["is_primary"] is True
        self.primary = card

    def _good_cards(self) -> list[str]:
        return [card for card, number in self.card_numbers.items() if number in GOOD]

    @precondition(lambda self: self._good_cards() and self._fitting("not_paid"))
    @rule(data=st.data())
    def fix_the_card_and_pay(self, data: st.DataObject) -> None:
        """The customer's way out of `not_paid` (never retried, nor charged by a new primary
        card): a good card made primary, then the invoice paid by hand."""
        invoice = data.draw(st.sampled_from(self._fitting("not_paid")), label="invoice")
        self.make_primary(data.draw(st.sampled_from(self._good_cards()), label="card"))
        self.check_every_invariant()
        self.pay(invoice)

    @rule(card=cards)
    def delete_card(self, card: str) -> None:
        response = self._call("DELETE", f"/v1/cards/{card}")
        if card not in self.card_numbers:
            self._expect(response, 404, "card_not_found")
        elif card == self.primary:
            self._expect(response, 409, "primary_card_cannot_be_deleted")
        else:
            self._expect(response, 204)
            del self.card_numbers[card]

    @rule()
    def delete_the_primary_card(self) -> None:
        if self.primary is None:
            return
        response = self._call("DELETE", f"/v1/cards/{self.primary}")
        self._expect(response, 409, "primary_card_cannot_be_deleted")

    # --- invoices -------------------------------------------------------------------------

    @precondition(lambda self: len(self.created) < MAX_INVOICES)
    @rule(amount=st.integers(min_value=1, max_value=100_000))
    def create_invoice(self, amount: int) -> None:
        lines = [{"description": "Compute", "quantity": 1, "unit_amount": amount}]
        body = invoice_body(self.account, lines=lines)
        response = self._call("POST", "/v1/admin/invoices", admin=True, json=body)
        self._expect(response, 201)
        invoice = response.json()
        assert (invoice["status"], invoice["number"]) == ("payment_pending", None), invoice
        self.created.append(invoice["id"])

    @precondition(lambda self: len(self.created) < MAX_INVOICES)
    @rule()
    def bill_now(self) -> None:
        """The usual month: the platform bills, and the customer pays what is due at once."""
        self.create_invoice(1999)
        self.check_every_invariant()
        self.finalize(self.created[-1])
        self.check_every_invariant()
        self.pay(self.created[-1])

    def _state(self, invoice: str) -> str:
        return state_of(self.seen[invoice])

    def _fitting(self, *states: str) -> list[str]:
        return [invoice for invoice in self.created if self._state(invoice) in states]

    def _charge_outcome(self) -> str | None:
        """The decline code a charge of the primary card gets now; None: it is paid."""
        if self.primary is None:
            return "no_payment_method"
        return CHARGE_FAILS.get(self.card_numbers[self.primary])

    # Each action is a rule twice: on any invoice (mostly the wrong state: a 409), and, when
    # there is one, on an invoice in a state it fits, so that deep paths (finalized with a
    # declining card, marked uncollectible, paid with a good card) are reached.

    @precondition(lambda self: self.created)
    @rule(data=st.data(), action=st.sampled_from(list(ACTIONS)))
    def act_on_any_invoice(self, data: st.DataObject, action: str) -> None:
        getattr(self, action)(data.draw(st.sampled_from(self.created), label="invoice"))

    finalize_a_draft = _where_it_fits("finalize")
    pay_a_payable_invoice = _where_it_fits("pay")
    void_a_voidable_invoice = _where_it_fits("void")
    give_up_on_an_open_invoice = _where_it_fits("mark_uncollectible")

    def finalize(self, invoice: str) -> None:
        response = self._call("POST", f"/v1/admin/invoices/{invoice}/finalize", admin=True)
        if self._state(invoice) not in ACTIONS["finalize"]:
            self._expect(response, 409, "invoice_not_draft")
            return
        self._expect(response, 200)
        finalized = response.json()
        assert finalized["number"] is not None, finalized
        declined = self._charge_outcome()
        if declined is None:
            assert finalized["status"] == "paid", finalized
        else:
            assert finalized["status"] == "payment_due", finalized
            assert finalized["failure_reason"] == declined, finalized
            assert finalized["next_payment_attempt"] is not None, finalized

    def pay(self, invoice: str) -> None:
        response = self._call("POST", f"/v1/invoices/{invoice}/pay")
        if self._state(invoice) not in ACTIONS["pay"]:
            self._expect(response, 409, "invoice_not_payable")
            return
        declined = self._charge_outcome()
        if declined is None:
            self._expect(response, 200)
            assert response.json()["status"] == "paid", response.text
        elif declined == "no_payment_method":
            self._expect(response, 409, "no_payment_method")
        else:
            self._expect(response, 402, declined)

    def _admin_move(self, invoice: str, action: str, refused: str, status: str) -> None:
        """The platform voids or gives up on an invoice: `status` where the action fits."""
        url = f"/v1/admin/invoices/{invoice}/{action.replace('_', '-')}"
        response = self._call("POST", url, admin=True)
        if self._state(invoice) not in ACTIONS[action]:
            self._expect(response, 409, refused)
            return
        self._expect(response, 200)
        assert response.json()["status"] == status, response.text

    def void(self, invoice: str) -> None:
        self._admin_move(invoice, "void", "invoice_not_voidable", "voided")

    def mark_uncollectible(self, invoice: str) -> None:
        self._admin_move(invoice, "mark_uncollectible", "invoice_not_open", "not_paid")

    # --- after every step -----------------------------------------------------------------

    def check_every_invariant(self) -> None:
        """Within a rule of several calls (the model learns each invoice's state from it)."""
        self.cards_hold()
        self.invoices_hold()

    @invariant()
    def cards_hold(self) -> None:
        response = self._call("GET", "/v1/cards")
        self._expect(response, 200)
        cards = response.json()["data"]
        assert card_problems(cards) == []
        assert {card["id"] for card in cards} == set(self.card_numbers)
        # Primary first, then newest first (cards are added in the model's order).
        others = [card for card in reversed(self.card_numbers) if card != self.primary]
        expected = ([self.primary] if self.primary else []) + others
        assert [card["id"] for card in cards] == expected

    @invariant()
    def invoices_hold(self) -> None:
        listed: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            url = "/v1/invoices?limit=100" + (f"&cursor={cursor}" if cursor else "")
            response = self._call("GET", url)
            self._expect(response, 200)
            page = response.json()
            listed += page["data"]
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
        assert numbering_problems(listed) == []
        assert len({invoice["id"] for invoice in listed}) == len(listed), "listed twice"
        for item in listed:
            before = self.seen.get(item["id"])
            if before is not None:
                assert transition_problem(before, item) is None
                if before == item:
                    continue
            detail = self._call("GET", f"/v1/invoices/{item['id']}")
            self._expect(detail, 200)
            assert payment_problems(detail.json()) == []
            self.seen[item["id"]] = item
        assert set(self.seen) == {invoice["id"] for invoice in listed}, "an invoice vanished"
        # Newest first, in true creation order (several are made within one second).
        listed_ids = [invoice["id"] for invoice in listed]
        assert listed_ids == self.created[::-1], "invoices not listed newest first"


@pytest.mark.sandbox_only
def test_cards_and_invoices_keep_their_invariants(settings: Settings) -> None:
    config = make_settings(settings.database_url, **NO_CARD_ADD_LIMIT)
    CardsAndInvoices.config = config
    CardsAndInvoices.accounts = itertools.count()
    CardsAndInvoices.run_id = uuid.uuid4().hex[:6]
    app = create_app(config)
    with start_blocking_portal() as portal:
        CardsAndInvoices.http = Blocking(portal, app)
        try:
            run_state_machine_as_test(CardsAndInvoices, settings=MACHINE_SETTINGS)
        finally:
            portal.call(CardsAndInvoices.http.client.aclose)
            portal.call(app.state.runtime.close)


MACHINE_SETTINGS = hypothesis.settings(
    max_examples=25,
    stateful_step_count=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

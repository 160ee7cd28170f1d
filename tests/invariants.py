"""The invariants of cards and invoices, checked on what the HTTP API shows.

Pure functions over the JSON of `GET /v1/cards` and `GET /v1/invoices[/{id}]`: each returns
the list of problems it finds (empty: the invariant holds). The stateful test and the
concurrency storm both check them.
"""

from typing import Any

Json = dict[str, Any]

# Settings for an app under these tests, where the card-add rate limit exists: generous, as
# they test cards and invoices, not the limit (tests/test_cards.py and friends test that).
NO_CARD_ADD_LIMIT: dict[str, Any] = {"card_add_limit": "1000000/h"}

# The contract's labels are the statuses in words: `payment_due` -> "Payment due".
STATUSES = ("payment_pending", "paid", "payment_due", "not_paid", "voided")
STATUS_LABELS = {status: status.replace("_", " ").capitalize() for status in STATUSES}

# An invoice's state: its status, or "draft" for a `payment_pending` invoice with no number.
# The moves the invoice state machine allows between two looks at it (several steps may
# happen in between, so these are the reachable states, not single transitions).
REACHABLE: dict[str, frozenset[str]] = {
    "draft": frozenset({"draft", "payment_pending", "paid", "payment_due", "not_paid", "voided"}),
    "payment_pending": frozenset({"payment_pending", "paid", "payment_due", "not_paid", "voided"}),
    "payment_due": frozenset({"payment_due", "paid", "not_paid", "voided"}),
    "not_paid": frozenset({"not_paid", "paid", "voided"}),
    "paid": frozenset({"paid"}),
    "voided": frozenset({"voided"}),
}


def state_of(invoice: Json) -> str:
    if invoice["status"] == "payment_pending" and invoice["number"] is None:
        return "draft"
    return str(invoice["status"])


def card_problems(cards: list[Json]) -> list[str]:
    """An account with cards has exactly one primary card, listed first."""
    if not cards:
        return []
    primaries = [card["id"] for card in cards if card["is_primary"]]
    if len(primaries) != 1:
        return [f"{len(primaries)} primary cards among {len(cards)}: {primaries}"]
    if not cards[0]["is_primary"]:
        return ["the primary card is not listed first"]
    return []


def numbering_problems(invoices: list[Json]) -> list[str]:
    """Numbers of one account's finalized invoices: unique, one prefix, 1..n without gaps."""
    numbers = [invoice["number"] for invoice in invoices if invoice["number"] is not None]
    problems = []
    if len(set(numbers)) != len(numbers):
        problems.append(f"duplicate invoice numbers: {sorted(numbers)}")
    prefixes = {number.rsplit("-", 1)[0] for number in numbers}
    if len(prefixes) > 1:
        problems.append(f"several number prefixes on one account: {sorted(prefixes)}")
    sequence = sorted(int(number.rsplit("-", 1)[1]) for number in numbers)
    if sequence != list(range(1, len(numbers) + 1)):
        problems.append(f"invoice numbers are not 1..{len(numbers)}: {sequence}")
    for invoice in invoices:
        if invoice["number"] is None and invoice["finalized_at"] is not None:
            problems.append(f"{invoice['id']} is finalized without a number")
    return problems


def payment_problems(invoice: Json) -> list[str]:
    """One invoice in full (with `payment_attempts`): paid once at most, and paid means paid."""
    problems = []
    where = f"{invoice['id']} ({invoice['status']})"
    if invoice["status"] not in STATUS_LABELS:
        return [f"{where}: unknown status"]
    if invoice["status_label"] != STATUS_LABELS[invoice["status"]]:
        problems.append(f"{where}: label {invoice['status_label']!r}")
    succeeded = [a for a in invoice["payment_attempts"] if a["outcome"] == "succeeded"]
    if len(succeeded) > 1:
        problems.append(f"{where}: charged {len(succeeded)} times")
    if invoice["status"] == "paid":
        if invoice["paid_at"] is None:
            problems.append(f"{where}: paid without paid_at")
        if invoice["amount_due"] != 0 or invoice["amount_paid"] != invoice["total"]:
            problems.append(f"{where}: paid {invoice['amount_paid']} of {invoice['total']}")
        if invoice["total"] > 0 and not succeeded:
            problems.append(f"{where}: paid without a successful charge")
    elif succeeded:
        problems.append(f"{where}: a successful charge but not paid")
    elif invoice["paid_at"] is not None:
        problems.append(f"{where}: paid_at set but not paid")
    if invoice["status"] == "voided" and invoice["voided_at"] is None:
        problems.append(f"{where}: voided without voided_at")
    return problems


def transition_problem(before: Json, after: Json) -> str | None:
    """What changed between two looks at one invoice that the state machine forbids."""
    old, new = state_of(before), state_of(after)
    if new not in REACHABLE[old]:
        return f"{after['id']}: {old} -> {new}"
    if before["number"] is not None:
        for field in ("number", "total", "subtotal", "tax", "currency", "finalized_at"):
            if before[field] != after[field]:
                return f"{after['id']}: finalized, yet {field} {before[field]} -> {after[field]}"
    return None

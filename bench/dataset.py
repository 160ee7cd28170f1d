"""The benchmark's data, generated: accounts, invoices, lines, attempts and cards as COPY rows.

Deterministic for a given seed. bench/seed.py loads it.
"""

import json
import random
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.models import InvoiceStatus

# The newest invoice is created just before this moment, the oldest three years earlier.
END = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
# Invoices younger than this are still being collected: drafts, due, pending.
RECENT = timedelta(days=35)
# Account weights follow rank^-SKEW: with 10,000 accounts and 1,000,000 invoices the heaviest
# holds ~32,000 invoices (1,600 pages of 20) and the median account ~35.
SKEW = 0.8
BATCH = 50_000
_ALPHABET = string.ascii_letters + string.digits

INVOICE_COLUMNS = (
    "id",
    "account_id",
    "project_id",
    "project_name",
    "number",
    "status",
    "currency",
    "subtotal",
    "tax",
    "total",
    "amount_paid",
    "period_start",
    "period_end",
    "created_at",
    "finalized_at",
    "due_date",
    "paid_at",
    "voided_at",
    "attempt_count",
    "retries_made",
    "next_payment_attempt",
    "failure_reason",
    "billing_snapshot",
)

CUSTOMERS = (
    ("GmbH", "Hauptstraße 5", "10115", "Berlin", None, "DE", 0.19),
    ("SAS", "12 rue de Rivoli", "75001", "Paris", None, "FR", 0.20),
    ("B.V.", "Damrak 70", "1012 LM", "Amsterdam", None, "NL", 0.21),
    ("Sp. z o.o.", "ul. Piotrkowska 104", "90-001", "Łódź", None, "PL", 0.23),
    ("Inc.", "4120 Freidrich Ln", "78744", "Austin", "TX", "US", 0.0),
    ("Ltd", "1 Poultry", "EC2R 8EJ", "London", None, "GB", 0.20),
    ("K.K.", "1-1 Chiyoda", "100-0001", "Tokyo", None, "JP", 0.10),
)
NAMES = ("Acme", "Initech", "Globex", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne")
PROJECT_NAMES = ("Production", "Web shop", "Data pipeline", "Staging", "ML training", "API")
DECLINES = ("insufficient_funds", "card_declined", "expired_card", "incorrect_cvc")
LINE_ITEMS = ("Compute: vCPU hours", "Block storage (GB-month)", "Egress (GB)", "Build minutes")
BRANDS = (("visa", "4242"), ("mastercard", "4444"), ("amex", "8431"), ("visa", "1881"))
# One invoice in DETAIL_EVERY gets lines and payment attempts: the detail benchmark reads those.
DETAIL_EVERY = 100
CONTENTION_ACCOUNT = "acct_contention"


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    prefix: str
    project_id: str
    project_name: str
    currency: str
    tax_rate: float
    snapshot: str


def _account_id(index: int) -> str:
    return f"acct_{index:05d}"


def invoice_counts(accounts: int, invoices: int) -> list[int]:
    """Invoices per account, heaviest first: rank^-SKEW, at least one each, summing exactly."""
    weights = [(rank + 1) ** -SKEW for rank in range(accounts)]
    spare = invoices - accounts
    total = sum(weights)
    counts = [1 + int(spare * weight / total) for weight in weights]
    for rank in range(invoices - sum(counts)):
        counts[rank % accounts] += 1
    return counts


def make_accounts(count: int, rng: random.Random) -> list[Account]:
    accounts = []
    for index in range(count):
        suffix, line1, postal_code, city, state, country, tax_rate = rng.choice(CUSTOMERS)
        name = f"{rng.choice(NAMES)} {index} {suffix}"
        snapshot = {
            "name": name,
            "email": f"billing+{index}@example.com",
            "address": {
                "line1": line1,
                "line2": None,
                "city": city,
                "postal_code": postal_code,
                "state": state,
                "country": country,
            },
            "vat_id": f"{country}{rng.randrange(10**8, 10**9)}" if country != "US" else None,
            "source": "account",
        }
        accounts.append(
            Account(
                id=_account_id(index),
                prefix=f"{rng.getrandbits(32):08X}",
                project_id=f"prj_{index:05d}",
                project_name=rng.choice(PROJECT_NAMES),
                currency="jpy" if country == "JP" else "usd" if country == "US" else "eur",
                tax_rate=tax_rate,
                snapshot=json.dumps(snapshot, ensure_ascii=False),
            )
        )
    return accounts


def creation_times(counts: Sequence[int], rng: random.Random) -> list[tuple[float, int]]:
    """(seconds before END, account index) for every invoice, oldest first."""
    span = SPAN.total_seconds()
    moments = [
        (rng.random() * span, index) for index, count in enumerate(counts) for _ in range(count)
    ]
    moments.sort(reverse=True)
    return moments


def _status(age: timedelta, rng: random.Random) -> InvoiceStatus | None:
    """The invoice's status, or None for a draft (payment_pending, not finalized yet)."""
    roll = rng.random()
    if age < RECENT:
        if roll < 0.30:
            return None
        if roll < 0.45:
            return InvoiceStatus.PAYMENT_PENDING
        if roll < 0.55:
            return InvoiceStatus.PAYMENT_DUE
        if roll < 0.58:
            return InvoiceStatus.VOIDED
        return InvoiceStatus.PAID
    if roll < 0.03:
        return InvoiceStatus.NOT_PAID
    if roll < 0.07:
        return InvoiceStatus.VOIDED
    return InvoiceStatus.PAID


def invoice_record(
    account: Account, age_seconds: float, numbers: list[int], index: int, rng: random.Random
) -> tuple[Any, ...]:
    # Whole seconds, as the service's clock writes them.
    created_at = (END - timedelta(seconds=age_seconds)).replace(microsecond=0)
    age = END - created_at
    period_end = created_at.replace(hour=0, minute=0, second=0, microsecond=0)
    period_start = period_end - timedelta(days=30)
    subtotal = min(int(rng.lognormvariate(8.5, 1.6)), 50_000_000)
    if account.currency == "jpy":
        subtotal //= 100
    tax = int(subtotal * account.tax_rate)
    total = subtotal + tax
    status = _status(age, rng)
    number = finalized_at = due_date = paid_at = voided_at = None
    next_attempt = failure_reason = snapshot = None
    attempts = retries = amount_paid = 0
    if status is not None:
        numbers[index] += 1
        number = f"{account.prefix}-{numbers[index]:04d}"
        finalized_at = due_date = created_at + timedelta(minutes=rng.randint(1, 120))
        snapshot = account.snapshot
    if status is InvoiceStatus.PAID:
        attempts = 1 if rng.random() < 0.9 else rng.randint(2, 4)
        retries = attempts - 1
        amount_paid = total
        assert finalized_at is not None
        paid_at = finalized_at + timedelta(days=(0, 1, 3, 5)[attempts - 1], seconds=2)
    elif status is InvoiceStatus.PAYMENT_DUE:
        attempts = rng.randint(1, 3)
        retries = attempts - 1
        assert finalized_at is not None
        next_attempt = finalized_at + timedelta(days=(1, 3, 5)[retries])
        failure_reason = rng.choice(DECLINES)
    elif status is InvoiceStatus.NOT_PAID:
        attempts, retries = 4, 3
        failure_reason = rng.choice(DECLINES)
    elif status is InvoiceStatus.VOIDED:
        assert finalized_at is not None
        voided_at = finalized_at + timedelta(days=rng.randint(1, 10))
    return (
        "in_" + "".join(rng.choices(_ALPHABET, k=24)),
        account.id,
        account.project_id,
        account.project_name,
        number,
        (status or InvoiceStatus.PAYMENT_PENDING).value,
        account.currency,
        subtotal,
        tax,
        total,
        amount_paid,
        period_start,
        period_end,
        created_at,
        finalized_at,
        due_date,
        paid_at,
        voided_at,
        attempts,
        retries,
        next_attempt,
        failure_reason,
        snapshot,
    )


def detail_records(
    invoice: tuple[Any, ...], rng: random.Random
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Lines (summing to the subtotal) and payment attempts of one invoice row."""
    invoice_id, subtotal, total = invoice[0], invoice[7], invoice[9]
    status, attempts, finalized_at, paid_at = invoice[5], invoice[18], invoice[14], invoice[16]
    count = rng.randint(2, 5)
    lines = []
    rest = subtotal
    for position in range(count - 1):
        quantity = rng.randint(1, 50)
        unit_amount = rng.randint(0, max(0, rest // (quantity * (count - position))))
        lines.append(
            (
                invoice_id,
                position,
                rng.choice(LINE_ITEMS),
                quantity,
                unit_amount,
                quantity * unit_amount,
            )
        )
        rest -= quantity * unit_amount
    lines.append((invoice_id, count - 1, "Support plan", 1, rest, rest))
    tries = []
    for attempt in range(attempts):
        last = attempt == attempts - 1
        succeeded = last and status == InvoiceStatus.PAID.value
        moment = paid_at if succeeded else finalized_at + timedelta(days=(0, 1, 3, 5)[attempt])
        tries.append(
            (
                invoice_id,
                moment,
                "4242",
                total,
                "succeeded" if succeeded else "failed",
                None if succeeded else rng.choice(DECLINES),
            )
        )
    return lines, tries


def card_records(
    account_id: str, count: int, created: datetime, rng: random.Random
) -> list[tuple[Any, ...]]:
    """`count` cards, the first primary; about one in ten expired."""
    cards = []
    for index in range(count):
        brand, last4 = BRANDS[index % len(BRANDS)]
        expired = rng.random() < 0.1
        cards.append(
            (
                "card_" + "".join(rng.choices(_ALPHABET, k=24)),
                account_id,
                "pm_" + "".join(rng.choices(_ALPHABET, k=24)),
                f"fp_{account_id}_{index}",
                brand,
                last4,
                rng.randint(1, 12),
                rng.randint(2022, 2025) if expired else rng.randint(2027, 2032),
                index == 0,
                created + timedelta(days=index, seconds=rng.randrange(86_400)),
            )
        )
    return cards


def invoice_batches(
    accounts: Sequence[Account],
    moments: Sequence[tuple[float, int]],
    numbers: list[int],
    rng: random.Random,
) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(moments), BATCH):
        yield [
            invoice_record(accounts[index], age, numbers, index, rng)
            for age, index in moments[start : start + BATCH]
        ]


DETAILS_COLUMNS = (
    "account_id",
    "name",
    "email",
    "line1",
    "city",
    "postal_code",
    "state",
    "country",
    "vat_id",
    "updated_at",
)
CARD_COLUMNS = (
    "id",
    "account_id",
    "provider_payment_method_id",
    "fingerprint",
    "brand",
    "last4",
    "exp_month",
    "exp_year",
    "is_primary",
    "created_at",
)
LINE_COLUMNS = ("invoice_id", "position", "description", "quantity", "unit_amount", "amount")
ATTEMPT_COLUMNS = ("invoice_id", "attempted_at", "card_last4", "amount", "outcome", "decline_code")


def details_records(accounts: Sequence[Account], updated_at: datetime) -> list[tuple[Any, ...]]:
    records = []
    for account in accounts:
        snapshot = json.loads(account.snapshot)
        address = snapshot["address"]
        records.append(
            (
                account.id,
                snapshot["name"],
                snapshot["email"],
                address["line1"],
                address["city"],
                address["postal_code"],
                address["state"],
                address["country"],
                snapshot["vat_id"],
                updated_at,
            )
        )
    return records

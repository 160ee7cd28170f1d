"""Seed a PostgreSQL database for the list benchmark.

    python -m bench.seed --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/billing_bench \
        --accounts 10000 --invoices 1000000

Creates the database if it is missing, migrates it with the project's Alembic migrations,
then loads accounts (each with its billing details and one project) and invoices with COPY,
in one transaction, and finishes with VACUUM ANALYZE. A database that already holds exactly
the requested data is left as it is; anything else needs `--reset`, which drops and recreates
the database first.

The data is what the list endpoint reads in production: invoices created over three years,
stored in creation order (so one account's rows are spread over the table, as they would be),
with a skewed number per account (a few heavy accounts, a long tail of small ones), mixed
statuses, gapless per-account numbers and a billing snapshot on every finalized invoice.
Invoice lines are not loaded: the list endpoint never reads them.
"""

import argparse
import asyncio
import json
import random
import string
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url

from app.core.config import Settings
from app.core.migrate import upgrade
from app.models import InvoiceStatus

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/billing_bench"
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


def _dsn(url: URL, database: str | None = None) -> str:
    plain = url.set(drivername="postgresql")
    if database is not None:
        plain = plain.set(database=database)
    return plain.render_as_string(hide_password=False)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def prepare_database(url: URL, reset: bool) -> None:
    """Create the database (dropping it first with `reset`) through the `postgres` database."""
    assert url.database is not None
    admin = await asyncpg.connect(_dsn(url, "postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database)
        name = _quote_ident(url.database)
        if exists and reset:
            await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
            exists = None
        if not exists:
            await admin.execute(f"CREATE DATABASE {name}")
            print(f"created database {url.database}")
    finally:
        await admin.close()


async def current_counts(url: URL) -> tuple[int, int]:
    connection = await asyncpg.connect(_dsn(url))
    try:
        accounts = await connection.fetchval("SELECT count(*) FROM accounts")
        invoices = await connection.fetchval("SELECT count(*) FROM invoices")
    finally:
        await connection.close()
    return int(accounts), int(invoices)


async def load(url: URL, accounts_wanted: int, invoices_wanted: int, seed: int) -> None:
    rng = random.Random(seed)
    started = time.perf_counter()
    accounts = make_accounts(accounts_wanted, rng)
    counts = invoice_counts(accounts_wanted, invoices_wanted)
    moments = creation_times(counts, rng)
    numbers = [0] * accounts_wanted
    print(f"generated {len(moments):,} creation times in {time.perf_counter() - started:.1f}s")

    connection = await asyncpg.connect(_dsn(url))
    try:
        async with connection.transaction():
            first = END - SPAN - timedelta(days=30)
            await connection.copy_records_to_table(
                "accounts",
                columns=("id", "created_at", "invoice_prefix", "last_invoice_number"),
                # The real numbers are only known once the invoices are numbered; see below.
                records=[(a.id, first, a.prefix, 0) for a in accounts],
            )
            await connection.copy_records_to_table(
                "projects",
                columns=("account_id", "id", "name", "created_at", "updated_at"),
                records=[(a.id, a.project_id, a.project_name, first, first) for a in accounts],
            )
            details = []
            for account in accounts:
                snapshot = json.loads(account.snapshot)
                address = snapshot["address"]
                details.append(
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
                        first,
                    )
                )
            await connection.copy_records_to_table(
                "billing_details",
                columns=(
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
                ),
                records=details,
            )
            loaded = 0
            for batch in invoice_batches(accounts, moments, numbers, rng):
                await connection.copy_records_to_table(
                    "invoices", columns=INVOICE_COLUMNS, records=batch
                )
                loaded += len(batch)
                elapsed = time.perf_counter() - started
                print(f"  {loaded:>10,} invoices  {elapsed:6.1f}s", flush=True)
            await connection.executemany(
                "UPDATE accounts SET last_invoice_number = $2 WHERE id = $1",
                [(a.id, n) for a, n in zip(accounts, numbers, strict=True) if n],
            )
        print(f"loaded in {time.perf_counter() - started:.1f}s; VACUUM ANALYZE …", flush=True)
        # VACUUM sets the hint bits and the visibility map now, so the benchmark's first
        # reads do not pay for that; ANALYZE gives the planner the real distribution.
        await connection.execute("VACUUM (ANALYZE) accounts, projects, billing_details, invoices")
    finally:
        await connection.close()
    print(f"done in {time.perf_counter() - started:.1f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.seed", description="Seed the list benchmark's database."
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help="postgresql+asyncpg URL")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1, help="seed of the data generator")
    parser.add_argument("--reset", action="store_true", help="drop and recreate the database first")
    args = parser.parse_args(argv)
    if args.accounts < 1 or args.invoices < args.accounts:
        parser.error("need at least one account and at least one invoice per account")
    url = make_url(args.database_url)
    if not url.drivername.startswith("postgresql") or not url.database:
        parser.error("--database-url must be a postgresql+asyncpg URL with a database name")

    asyncio.run(prepare_database(url, args.reset))
    upgrade(
        Settings(
            database_url=url.set(drivername="postgresql+asyncpg").render_as_string(
                hide_password=False
            )
        )
    )
    accounts, invoices = asyncio.run(current_counts(url))
    if (accounts, invoices) == (args.accounts, args.invoices):
        print(f"{url.database} already holds {accounts:,} accounts and {invoices:,} invoices")
        return 0
    if accounts or invoices:
        parser.error(
            f"{url.database} holds {accounts:,} accounts and {invoices:,} invoices, not the "
            "requested numbers: pass --reset to drop and reseed it"
        )
    asyncio.run(load(url, args.accounts, args.invoices, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Seed a PostgreSQL database for the benchmark (`make bench` calls it; it can run alone).

    python -m bench.seed --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/billing_bench \
        --accounts 10000 --invoices 1000000

Creates the database if it is missing, migrates it with the project's Alembic migrations,
then loads everything with COPY, in one transaction, and finishes with VACUUM ANALYZE:
accounts (each with billing details, one project and one to three cards), invoices, the
lines and payment attempts of one invoice in a hundred (what `GET /v1/invoices/{id}`
reads), and `acct_contention`, an account with four cards and no invoices on which clients
switch the primary card. The database's COMMENT records what was loaded: a database that
already holds the requested data is left as it is, one this script seeded differently is
dropped and reseeded, and one it did not seed is refused unless `--reset` is given.

The invoices are what lists read in production: created over three years, stored in creation
order (so one account's rows are spread over the table, as they would be), a skewed number
per account (a few heavy accounts, a long tail of small ones), mixed statuses, gapless
per-account numbers and a billing snapshot on every finalized invoice.
"""

import argparse
import asyncio
import random
import time
from datetime import timedelta

import asyncpg
from sqlalchemy.engine import URL, make_url

from app.core.config import Settings
from app.core.migrate import upgrade
from bench.dataset import (
    ATTEMPT_COLUMNS,
    CARD_COLUMNS,
    CONTENTION_ACCOUNT,
    DETAIL_EVERY,
    DETAILS_COLUMNS,
    END,
    INVOICE_COLUMNS,
    LINE_COLUMNS,
    SPAN,
    card_records,
    creation_times,
    detail_records,
    details_records,
    invoice_batches,
    invoice_counts,
    make_accounts,
)

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/billing_bench"
# Bumped whenever what is loaded changes, so that an older seed is replaced.
SEED_VERSION = 2


def marker(accounts: int, invoices: int, seed: int) -> str:
    return (
        f"billing bench seed v{SEED_VERSION}: {accounts} accounts, {invoices} invoices, seed {seed}"
    )


def _dsn(url: URL, database: str | None = None) -> str:
    plain = url.set(drivername="postgresql")
    if database is not None:
        plain = plain.set(database=database)
    return plain.render_as_string(hide_password=False)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def prepare_database(url: URL, wanted: str, reset: bool) -> bool:
    """Create (or recreate) the database unless it holds `wanted`; True if it must be loaded.

    Works through the `postgres` database. The COMMENT says what an earlier run loaded.
    """
    assert url.database is not None
    name = _quote_ident(url.database)
    admin = await asyncpg.connect(_dsn(url, "postgres"))
    try:
        row = await admin.fetchrow(
            "SELECT shobj_description(oid, 'pg_database') AS note FROM pg_database "
            "WHERE datname = $1",
            url.database,
        )
        note = None if row is None else row["note"]
        if row is not None and note == wanted and not reset:
            return False
        if row is not None:
            ours = note is not None and note.startswith("billing bench seed")
            if not (ours or reset or await _is_empty(url)):
                raise SystemExit(
                    f"{url.database} holds data this script did not load: pass --reset to "
                    "drop and reseed it"
                )
            await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}")
        print(f"created database {url.database}", flush=True)
    finally:
        await admin.close()
    return True


async def _is_empty(url: URL) -> bool:
    connection = await asyncpg.connect(_dsn(url))
    try:
        return not await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
    finally:
        await connection.close()


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
                records=[(a.id, first, a.prefix, 0) for a in accounts]
                + [(CONTENTION_ACCOUNT, first, "C0FFEE00", 0)],
            )
            await connection.copy_records_to_table(
                "projects",
                columns=("account_id", "id", "name", "created_at", "updated_at"),
                records=[(a.id, a.project_id, a.project_name, first, first) for a in accounts],
            )
            await connection.copy_records_to_table(
                "billing_details", columns=DETAILS_COLUMNS, records=details_records(accounts, first)
            )
            cards = [
                card
                for index, account in enumerate(accounts)
                for card in card_records(account.id, 1 + index % 3, first, rng)
            ]
            contention = card_records(CONTENTION_ACCOUNT, 4, first, rng)
            # Every card of the contention account can become primary: none has expired.
            contention = [(*card[:7], 2030, *card[8:]) for card in contention]
            await connection.copy_records_to_table(
                "cards", columns=CARD_COLUMNS, records=cards + contention
            )
            loaded = lines = attempts = 0
            for batch in invoice_batches(accounts, moments, numbers, rng):
                await connection.copy_records_to_table(
                    "invoices", columns=INVOICE_COLUMNS, records=batch
                )
                details = [detail_records(row, rng) for row in batch[::DETAIL_EVERY]]
                await connection.copy_records_to_table(
                    "invoice_lines",
                    columns=LINE_COLUMNS,
                    records=[line for rows, _ in details for line in rows],
                )
                await connection.copy_records_to_table(
                    "payment_attempts",
                    columns=ATTEMPT_COLUMNS,
                    records=[attempt for _, rows in details for attempt in rows],
                )
                loaded += len(batch)
                lines += sum(len(rows) for rows, _ in details)
                attempts += sum(len(rows) for _, rows in details)
                elapsed = time.perf_counter() - started
                print(f"  {loaded:>10,} invoices  {elapsed:6.1f}s", flush=True)
            await connection.executemany(
                "UPDATE accounts SET last_invoice_number = $2 WHERE id = $1",
                [(a.id, n) for a, n in zip(accounts, numbers, strict=True) if n],
            )
        print(
            f"loaded {len(cards) + len(contention):,} cards, {lines:,} lines and {attempts:,} "
            f"payment attempts too, in {time.perf_counter() - started:.1f}s; VACUUM ANALYZE …",
            flush=True,
        )
        # VACUUM sets the hint bits and the visibility map now, so the benchmark's first
        # reads do not pay for that; ANALYZE gives the planner the real distribution.
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()
    print(f"done in {time.perf_counter() - started:.1f}s", flush=True)


def seed(url: URL, accounts: int, invoices: int, *, seed: int = 1, reset: bool = False) -> None:
    """Make the database hold exactly this data set, loading it only if it does not yet."""
    wanted = marker(accounts, invoices, seed)
    fresh = asyncio.run(prepare_database(url, wanted, reset))
    upgrade(
        Settings(
            database_url=url.set(drivername="postgresql+asyncpg").render_as_string(
                hide_password=False
            )
        )
    )
    if not fresh:
        print(f"{url.database} already holds {accounts:,} accounts and {invoices:,} invoices")
        return
    asyncio.run(load(url, accounts, invoices, seed))
    asyncio.run(_mark(url, wanted))


async def _mark(url: URL, note: str) -> None:
    """Recorded last: a load that failed half-way leaves no marker, and is redone."""
    assert url.database is not None
    connection = await asyncpg.connect(_dsn(url))
    try:
        literal = "'" + note.replace("'", "''") + "'"
        await connection.execute(f"COMMENT ON DATABASE {_quote_ident(url.database)} IS {literal}")
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.seed", description="Seed the benchmark's database."
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
    seed(url, args.accounts, args.invoices, seed=args.seed, reset=args.reset)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

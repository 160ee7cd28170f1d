"""Memory of the CSV export: `python -m bench.csv_bench --invoices 100000`.

Seeds one account with N invoices in PostgreSQL (`bench.seed`), starts the service
(`billing serve`, one worker), downloads `GET /v1/invoices/export.csv` once with a few
invoices' filter (the warm-up: imports, pools, caches) and then whole, reading the body as
it streams, and prints the server's resident memory: a flat export holds one batch of rows
at a time, so its peak (VmHWM) grows by about the same whatever N is.
"""

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from app.core.auth import issue_token
from app.core.config import Settings
from bench.seed import seed
from bench.servers import free_port, running, service_command

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/billing_csv_bench"
# bench.seed names accounts acct_00000, acct_00001, ...; with one account it holds them all.
ACCOUNT = "acct_00000"


async def download(url: str, token: str, query: str) -> tuple[int, int]:
    """(rows, bytes) of one export, read chunk by chunk and dropped."""
    rows = size = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(timeout=600) as client,
        client.stream("GET", f"{url}/v1/invoices/export.csv{query}", headers=headers) as response,
    ):
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            rows += chunk.count(b"\n")
            size += len(chunk)
    return rows - 1, size


def measure(database_url: str) -> None:
    secret = "csv-bench-secret-" + "x" * 32
    token = issue_token(
        Settings(jwt_secret=secret), ACCOUNT, now=datetime.now(UTC), ttl=timedelta(hours=1)
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("BILLING_")}
    env.update(BILLING_DATABASE_URL=database_url, BILLING_JWT_SECRET=secret)
    with (
        tempfile.TemporaryDirectory() as logs,
        running("service", service_command(free_port()), env, Path(logs)) as server,
    ):
        # A small export first: imports, pools and caches are not the export's memory.
        asyncio.run(download(server.url, token, "?created_gte=2026-10-31T00:00:00Z"))
        before = server.memory_mib()
        started = time.perf_counter()
        rows, size = asyncio.run(download(server.url, token, ""))
        seconds = time.perf_counter() - started
        after = server.memory_mib()
    print(f"exported      {rows:,} rows, {size / 1024 / 1024:.1f} MiB in {seconds:.1f} s")
    print(f"server RSS    {before['rss']} MiB before, {after['rss']} MiB after")
    growth = after["peak"] - before["peak"]
    print(
        f"server peak   {before['peak']} MiB before, {after['peak']} MiB after ({growth:+.1f} MiB)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="postgresql+asyncpg URL")
    parser.add_argument("--invoices", type=int, default=100_000)
    args = parser.parse_args(argv)
    seed(make_url(args.database_url), 1, args.invoices)
    measure(args.database_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""SQL statements per request, counted by pg_stat_statements on a throwaway PostgreSQL server.

The extension needs `shared_preload_libraries`, a server setting that is not the benchmark's
to change on a shared server; so `initdb` makes a private one in a temporary folder, on a
free loopback port, seeded with the 10,000-invoice data set. The service and the baseline are
run against it, each scenario's requests are sent one at a time after a warm-up over the
same requests (so connections are open, statements prepared and accounts known), and the
calls pg_stat_statements recorded in the database, BEGIN and COMMIT included, are divided by
the requests sent.
"""

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench import seed
from bench.servers import LOOPBACK, Server, call, free_port, service_and_bare

DATABASE = "billing_bench"
REQUESTS = 60


def _bindir() -> Path:
    found = subprocess.run(
        ["pg_config", "--bindir"],  # noqa: S607 (PostgreSQL's own tool, from PATH)
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip())


@contextmanager
def throwaway_server() -> Iterator[str]:
    """A private PostgreSQL with pg_stat_statements; yields the admin DSN (database postgres)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    # initdb refuses to run as root: the server then runs as the system's postgres user.
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(folder, "postgres")
    bindir, data, port = _bindir(), folder / "data", free_port()
    options = (
        f"-c listen_addresses={LOOPBACK} -p {port} -k {folder} "
        "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )

    def run(*command: str) -> None:
        subprocess.run([*as_postgres, *command], check=True, capture_output=True)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync")
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(folder / "log"),
        "-w",
        "start",
    )
    try:
        yield f"postgresql://postgres@{LOOPBACK}:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


async def _reset(admin: str) -> None:
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute("SELECT pg_stat_statements_reset()")
    finally:
        await connection.close()


async def _calls(admin: str) -> dict[str, int]:
    connection = await asyncpg.connect(admin)
    try:
        rows = await connection.fetch(
            "SELECT query, calls FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)",
            DATABASE,
        )
    finally:
        await connection.close()
    return {" ".join(row["query"].split()): int(row["calls"]) for row in rows}


def _count(admin: str, server: Server, lines: Sequence[str], method: str) -> dict[str, Any]:
    sample = [lines[index % len(lines)] for index in range(REQUESTS)]
    for line in sample:
        call(server, line, method)
    asyncio.run(_reset(admin))
    for line in sample:
        status, body = call(server, line, method)
        if status >= 300:
            raise RuntimeError(f"{server.name}: HTTP {status} for {line.split()[0]}: {body}")
    calls = asyncio.run(_calls(admin))
    return {
        "per_request": round(sum(calls.values()) / REQUESTS, 2),
        "statements": {query[:90]: round(count / REQUESTS, 2) for query, count in calls.items()},
    }


def count_statements(
    secret: str,
    logs: Path,
    requests: dict[str, tuple[list[str], list[str], str]],
    billing: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Per scenario: {"service": …, "bare": …}. `requests` are those of the 10k data set."""
    results: dict[str, dict[str, Any]] = {}
    with throwaway_server() as admin:
        asyncio.run(_create_extension(admin))
        database = admin.rsplit("/", 1)[0] + f"/{DATABASE}"
        seed.seed(make_url(database.replace("postgresql:", "postgresql+asyncpg:")), 100, 10_000)
        with service_and_bare(database, secret, logs, "-counted", billing) as (service, bare):
            for scenario, (service_lines, bare_lines, method) in requests.items():
                results[scenario] = {
                    "service": _count(admin, service, service_lines, method),
                    "bare": _count(admin, bare, bare_lines, method),
                }
    return results


async def _create_extension(admin: str) -> None:
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute("CREATE EXTENSION pg_stat_statements")
    finally:
        await connection.close()

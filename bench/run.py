"""`make bench`: the service against a bare FastAPI + asyncpg app, driven by wrk.

    python -m bench.run [--rounds 2] [--duration 5] [--connections 16] [--before FILE]

Seeds the data sets if needed (bench/seed.py: 1,000,000 invoices over 10,000 accounts, and
100,000 and 10,000 invoices for the latency-growth table), starts the service
(`billing serve --workers 1`) and `bench.bare_app` (uvicorn, one worker) on free loopback
ports, checks that both answer the same JSON, then runs every scenario with wrk on both
servers in interleaved rounds. wrk's Lua script (bench/wrk/random_request.lua) sends each
request as a random account with that account's own JWT. Statements per request are counted
by pg_stat_statements on a throwaway server (bench/statements.py). Writes bench/RESULTS.md.
"""

import argparse
import asyncio
import base64
import json
import os
import platform
import secrets
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import jwt
from sqlalchemy.engine import make_url

from bench import seed
from bench.dataset import CONTENTION_ACCOUNT
from bench.report import write_report
from bench.servers import Server, call, service_and_bare, wrk
from bench.statements import count_statements

HOST = "postgresql://postgres@127.0.0.1:5432"
# (database, accounts, invoices): the full data set first, then the latency-growth scales.
SCALES = (
    ("billing_bench", 10_000, 1_000_000),
    ("billing_bench_100k", 1_000, 100_000),
    ("billing_bench_10k", 100, 10_000),
)
PAGE = 20
DETAIL_SAMPLE = 2_000


@dataclass
class Dataset:
    accounts: list[str]
    heavy: str
    heavy_invoices: int
    deep_cursor: str
    details: list[tuple[str, str]]
    contention_cards: list[str]


def encode_cursor(created_at: datetime, id_: str) -> str:
    """The service's cursor: base64url of [created_at, id], unpadded."""
    raw = json.dumps([created_at.isoformat(), id_], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def read_dataset(dsn: str) -> Dataset:
    connection = await asyncpg.connect(dsn, server_settings={"timezone": "UTC"})
    try:
        accounts = [
            row["id"]
            for row in await connection.fetch(
                "SELECT id FROM accounts WHERE id ~ '^acct_[0-9]+$' ORDER BY id"
            )
        ]
        heavy = await connection.fetchrow(
            "SELECT account_id, count(*) AS n FROM invoices GROUP BY account_id "
            "ORDER BY n DESC, account_id LIMIT 1"
        )
        assert heavy is not None
        # The deepest full page: the one after the invoice PAGE + 1 rows from the oldest.
        before = await connection.fetchrow(
            "SELECT created_at, id FROM invoices WHERE account_id = $1 "
            "ORDER BY created_at, id OFFSET $2 LIMIT 1",
            heavy["account_id"],
            PAGE,
        )
        assert before is not None
        details = await connection.fetch(
            "SELECT account_id, id FROM invoices WHERE id IN "
            "(SELECT DISTINCT invoice_id FROM invoice_lines) ORDER BY id LIMIT $1",
            DETAIL_SAMPLE,
        )
        cards = await connection.fetch(
            "SELECT id FROM cards WHERE account_id = $1 ORDER BY id", CONTENTION_ACCOUNT
        )
    finally:
        await connection.close()
    return Dataset(
        accounts=accounts,
        heavy=heavy["account_id"],
        heavy_invoices=int(heavy["n"]),
        deep_cursor=encode_cursor(before["created_at"], before["id"]),
        details=[(row["account_id"], row["id"]) for row in details],
        contention_cards=[row["id"] for row in cards],
    )


Lines = tuple[list[str], list[str], str]


def request_lines(data: Dataset, tokens: dict[str, str]) -> dict[str, Lines]:
    """Per scenario: the service's request lines, the baseline's, and the HTTP method."""

    def both(pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
        service = [f"{path}\tAuthorization\tBearer {tokens[account]}" for account, path in pairs]
        bare = [f"{path}\tX-Account-Id\t{account}" for account, path in pairs]
        return service, bare

    first = both([(a, f"/v1/invoices?limit={PAGE}") for a in data.accounts])
    deep = both([(data.heavy, f"/v1/invoices?limit={PAGE}&cursor={data.deep_cursor}")])
    detail = both([(a, f"/v1/invoices/{invoice}") for a, invoice in data.details])
    cards = both([(a, "/v1/cards") for a in data.accounts])
    switch = both([(CONTENTION_ACCOUNT, f"/v1/cards/{c}/primary") for c in data.contention_cards])
    return {
        "list, first page": (*first, "GET"),
        "list, deepest page": (*deep, "GET"),
        "invoice with lines": (*detail, "GET"),
        "cards": (*cards, "GET"),
        "card switch, contended": (*switch, "POST"),
    }


def mint_tokens(accounts: list[str], secret: str) -> dict[str, str]:
    now = datetime.now(UTC)
    claims = {"iat": now, "exp": now + timedelta(hours=2)}
    return {a: jwt.encode({**claims, "sub": a}, secret, algorithm="HS256") for a in accounts}


def check_same_json(service: Server, bare: Server, lines: dict[str, Lines]) -> int:
    """Both servers must answer the same documents, or the comparison means nothing."""
    compared = 0
    for scenario, (service_lines, bare_lines, method) in lines.items():
        if method != "GET":
            continue
        for index in range(0, len(service_lines), max(1, len(service_lines) // 8)):
            mine = call(service, service_lines[index])
            theirs = call(bare, bare_lines[index])
            if mine[0] != 200 or mine != theirs:
                raise RuntimeError(f"{scenario}: the servers answer differently:\n{mine}\n{theirs}")
            compared += 1
    return compared


def visit_every_account(server: Server, first_pages: list[str]) -> None:
    """Send each account's first request once, before anything is measured.

    A real client sends the same token for its whole session, so a long-running worker has
    verified it and knows its account; with 10,000 accounts and runs of seconds, random
    picks would otherwise measure mostly first sights (a JWT check and an account upsert),
    which the bare app, checking nothing, never pays.
    """
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = set(pool.map(lambda line: call(server, line)[0], first_pages))
    if statuses != {200}:
        raise RuntimeError(f"{server.name}: warming up answered {sorted(statuses)}")
    print(f"warmed up: {server.name} has seen all {len(first_pages)} accounts", flush=True)


def write_lines(folder: Path, lines: dict[str, Lines]) -> dict[str, tuple[Path, Path, str]]:
    files = {}
    for index, (scenario, (service_lines, bare_lines, method)) in enumerate(lines.items()):
        service_file, bare_file = folder / f"{index}-service.txt", folder / f"{index}-bare.txt"
        service_file.write_text("\n".join(service_lines) + "\n")
        bare_file.write_text("\n".join(bare_lines) + "\n")
        files[scenario] = (service_file, bare_file, method)
    return files


async def primaries(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM cards WHERE account_id = $1 AND is_primary",
            CONTENTION_ACCOUNT,
        )
    finally:
        await connection.close()
    return count


def measure(args: argparse.Namespace, secret: str, folder: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"scenarios": {}, "growth": {}}
    dsn = f"{HOST}/{SCALES[0][0]}"
    data = asyncio.run(read_dataset(dsn))
    tokens = mint_tokens([*data.accounts, CONTENTION_ACCOUNT], secret)
    lines = request_lines(data, tokens)
    files = write_lines(folder, lines)
    results["dataset"] = {"heavy_account_invoices": data.heavy_invoices}
    results["methods"] = {scenario: method for scenario, (_, _, method) in lines.items()}
    with service_and_bare(dsn, secret, folder, billing=args.billing) as (service, bare):
        compared = check_same_json(service, bare, lines)
        print(f"checked: both servers answer the same JSON ({compared} documents)", flush=True)
        for server, first_pages in (
            (service, lines["list, first page"][0]),
            (bare, lines["list, first page"][1]),
        ):
            visit_every_account(server, first_pages)
        for service_file, bare_file, method in files.values():
            for server, file in ((service, service_file), (bare, bare_file)):
                wrk(server, file, args.warmup, args.connections, method)
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for round_ in range(args.rounds):
            for scenario, (service_file, bare_file, method) in files.items():
                pair = [("service", service, service_file), ("bare", bare, bare_file)]
                for side, server, file in pair[:: 1 if round_ % 2 == 0 else -1]:
                    run = wrk(server, file, args.duration, args.connections, method)
                    runs.setdefault(scenario, {}).setdefault(side, []).append(run)
                    print(f"round {round_ + 1}  {scenario:<24} {side:<8} {run}", flush=True)
        results["scenarios"] = runs
        results["memory"] = {"service": service.memory_mib(), "bare": bare.memory_mib()}
    results["contention_primaries_after"] = asyncio.run(primaries(dsn))
    for database, _, invoices in SCALES[1:]:
        scale = asyncio.run(read_dataset(f"{HOST}/{database}"))
        service_lines, bare_lines, _ = request_lines(scale, tokens)["list, first page"]
        service_file, bare_file = folder / "growth-service.txt", folder / "growth-bare.txt"
        service_file.write_text("\n".join(service_lines) + "\n")
        bare_file.write_text("\n".join(bare_lines) + "\n")
        with service_and_bare(
            f"{HOST}/{database}", secret, folder, f"-{database}", args.billing
        ) as pair:
            for server, file in zip(pair, (service_file, bare_file), strict=True):
                wrk(server, file, args.warmup, args.connections)
            results["growth"][invoices] = {
                side: wrk(server, file, args.duration, args.connections)
                for side, server, file in zip(
                    ("service", "bare"), pair, (service_file, bare_file), strict=True
                )
            }
    small = asyncio.run(read_dataset(f"{HOST}/{SCALES[-1][0]}"))
    print("counting statements with pg_stat_statements on a throwaway server", flush=True)
    results["statements"] = count_statements(
        secret,
        folder,
        request_lines(small, mint_tokens([*small.accounts, CONTENTION_ACCOUNT], secret)),
        args.billing,
    )
    return results


def describe_machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before": [round(value, 2) for value in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="interleaved measured rounds")
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=16, help="wrk's open connections")
    parser.add_argument("--json", type=Path, help="write the raw results here too")
    parser.add_argument("--before", type=Path, help="earlier results (JSON) to compare with")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "RESULTS.md")
    parser.add_argument(
        "--billing",
        type=Path,
        help="serve with this `billing` command (another version's, in its own virtualenv)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    for database, accounts, invoices in SCALES:
        seed.seed(
            make_url(f"{HOST}/{database}".replace("postgresql:", "postgresql+asyncpg:")),
            accounts,
            invoices,
        )
    secret = secrets.token_urlsafe(32)
    results = {"machine": describe_machine(), "settings": vars(args) | {"threads": 2}}
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        results |= measure(args, secret, Path(folder))
    results["seconds"] = round(time.monotonic() - started)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    before = json.loads(args.before.read_text()) if args.before and args.before.exists() else None
    write_report(results, before, args.out)
    print(f"wrote {args.out} in {results['seconds']}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

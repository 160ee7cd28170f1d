"""The `billing` command line: serve, migrate, mint tokens, print the OpenAPI document."""

import asyncio
import json
import os
import signal
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from prometheus_client import start_http_server
from sqlalchemy import NullPool, make_url, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import DBAPIError

from app.core.auth import issue_token
from app.core.config import (
    ProviderName,
    Settings,
    SettingsError,
    get_settings,
    parse_duration,
)
from app.core.db import create_engine
from app.core.logging import configure_logging
from app.core.metrics import MULTIPROCESS_ENV
from app.core.migrate import upgrade

cli = typer.Typer(
    help="Billing service.",
    no_args_is_help=True,
    add_completion=False,
    # Start-up problems are reported in one line (main); anything else keeps a plain
    # traceback rather than a page of framed source.
    pretty_exceptions_enable=False,
)

# How long start-up waits for the database to answer before giving up.
DATABASE_CHECK_SECONDS = 15


class StartupError(Exception):
    """Why the command cannot start, in one line."""


def check_database(settings: Settings) -> None:
    """Connect once before anything else, so that a database that is down, unknown or
    misconfigured stops start-up with one line naming it, not a traceback from the driver."""
    url = make_url(settings.database_url)
    try:
        if url.get_backend_name() == "sqlite":
            # Opened synchronously (same SQLite library): after a failed connect, aiosqlite's
            # worker thread can outlive the event loop and print a traceback of its own.
            engine = create_sync_engine(url.set(drivername="sqlite"), poolclass=NullPool)
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            engine.dispose()
        else:
            asyncio.run(asyncio.wait_for(_select_one(settings), DATABASE_CHECK_SECONDS))
    except Exception as exc:
        where = url.render_as_string(hide_password=True)
        raise StartupError(f"cannot use the database {where}: {_reason(exc)}") from None


async def _select_one(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {DATABASE_CHECK_SECONDS} s"
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return first_line or type(cause).__name__


# How long in-flight requests get to finish after SIGTERM; give the orchestrator's stop
# timeout a little more (`docker stop --time 35`, Kubernetes terminationGracePeriodSeconds).
GRACEFUL_SHUTDOWN_SECONDS = 30
# How long a worker process may take to start (and later to answer the supervisor's ping)
# before it is killed and replaced. Uvicorn's 5 s is less than importing the app takes on a
# busy machine: workers were killed while still starting, over and over, and never served.
WORKER_HEALTHCHECK_SECONDS = 30


def _exit_cleanly(_signal: int, _frame: FrameType | None) -> None:
    # uvicorn drains in-flight requests, then re-raises the signal it caught; ending here
    # makes a requested stop exit 0 instead of dying by the signal.
    raise SystemExit(0)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (default: BILLING_WORKERS, else 1).", min=1),
    ] = None,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving.")] = True,
) -> None:
    """Apply migrations, then serve the API until SIGTERM."""
    settings = get_settings()
    configure_logging(settings.log_level)
    if migrate:
        check_database(settings)
        upgrade(settings)
    worker_count = workers or settings.workers
    with ExitStack() as stack:
        if worker_count > 1 and not os.environ.get(MULTIPROCESS_ENV):
            # Workers are separate processes: their metrics meet in files so that /metrics,
            # answered by any one worker, reports all of them.
            os.environ[MULTIPROCESS_ENV] = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="billing-metrics-")
            )
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, _exit_cleanly)
        uvicorn.run(
            "app.asgi:app",
            host=host,
            port=port,
            workers=worker_count,
            proxy_headers=True,
            # Logging is ours (JSON on stdout); the request line comes from the app itself.
            log_config=None,
            access_log=False,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )


@cli.command("migrate")
def migrate_command(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations up to REVISION."""
    settings = get_settings()
    configure_logging(settings.log_level)
    check_database(settings)
    upgrade(settings, revision)
    typer.echo(f"database migrated to {revision}")


@cli.command()
def token(
    account: Annotated[str, typer.Argument(help="Account id: the token's sub.")],
    admin: Annotated[bool, typer.Option(help="Add the billing:admin scope.")] = False,
    ttl: Annotated[str, typer.Option(help="Lifetime, e.g. 30m, 1h, 7d.")] = "1h",
) -> None:
    """Print a JWT for ACCOUNT signed with BILLING_JWT_SECRET."""
    try:
        lifetime = parse_duration(ttl)
        value = issue_token(
            get_settings(), account, now=datetime.now(UTC), ttl=lifetime, admin=admin
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(value)


@cli.command()
def openapi() -> None:
    """Print the OpenAPI document."""
    from app.openapi import generate

    typer.echo(json.dumps(generate(), indent=2, sort_keys=False))


@cli.command()
def collect(
    loop: Annotated[bool, typer.Option(help="Keep collecting until SIGTERM or SIGINT.")] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between passes with --loop.", min=1)
    ] = 60,
) -> None:
    """Charge every invoice whose scheduled payment retry is due, then exit."""
    settings = get_settings()
    configure_logging(settings.log_level)
    check_database(settings)
    asyncio.run(_collect(loop, interval))


async def _collect(loop: bool, interval: float) -> None:
    from app.invoices.collection import collect_due, collect_forever
    from app.runtime import build_collector, build_runtime

    runtime = build_runtime(get_settings())
    collector = build_collector(runtime)
    stop = _stop_on_signals()
    try:
        if loop:
            await collect_forever(collector, interval, stop)
        else:
            report = await collect_due(collector, stop)
            typer.echo(
                f"charged {report.charged} invoice(s): {report.paid} paid, "
                f"{report.failed} declined, {len(report.skipped)} postponed"
            )
    finally:
        await runtime.close()


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT: the work in hand is finished and committed first."""
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    return stop


@cli.command()
def deliver() -> None:
    """Send the webhook deliveries that are due, once, then exit."""
    configure_logging(get_settings().log_level)
    check_database(get_settings())
    asyncio.run(_deliver())


async def _deliver() -> None:
    from app.events.delivery import deliver_due
    from app.runtime import build_deliverer, build_runtime

    runtime = build_runtime(get_settings())
    deliverer = build_deliverer(runtime)
    stop = _stop_on_signals()
    try:
        report = await deliver_due(deliverer, stop)
    finally:
        await deliverer.sender.aclose()
        await runtime.close()
    typer.echo(
        f"{report.attempted} delivery attempt(s): {report.succeeded} succeeded, "
        f"{report.retrying} to retry, {report.failed} failed"
    )


@cli.command()
def worker(
    collect_interval: Annotated[
        float, typer.Option(help="Seconds between collection passes.", min=1)
    ] = 60,
    deliver_interval: Annotated[
        float, typer.Option(help="Seconds between polls of an idle delivery queue.", min=0.1)
    ] = 1,
    expiry_scan_interval: Annotated[
        float, typer.Option(help="Seconds between card-expiry scans.", min=1)
    ] = 3600,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this process's Prometheus metrics on this port.", min=1),
    ] = None,
) -> None:
    """Run collection, webhook deliveries and the card-expiry scan until SIGTERM."""
    configure_logging(get_settings().log_level)
    check_database(get_settings())
    if metrics_port is not None:
        # The delivery and charge counters live in this process, not in the API's.
        start_http_server(metrics_port)
    asyncio.run(_worker(collect_interval, deliver_interval, expiry_scan_interval))


async def _worker(collect_interval: float, deliver_interval: float, scan_interval: float) -> None:
    from app.cards.expiry import ExpiryScanner
    from app.runtime import build_collector, build_deliverer, build_runtime
    from app.worker import Intervals, run_worker

    runtime = build_runtime(get_settings())
    deliverer = build_deliverer(runtime)
    stop = _stop_on_signals()
    try:
        await run_worker(
            build_collector(runtime),
            deliverer,
            ExpiryScanner(runtime.sessionmaker, runtime.clock),
            stop,
            Intervals(collect_interval, deliver_interval, scan_interval),
        )
    finally:
        await deliverer.sender.aclose()
        await runtime.close()


@cli.command("stripe-sync")
def stripe_sync(
    account: Annotated[
        str | None,
        typer.Argument(help="Only this account (default: every account with a Stripe customer)."),
    ] = None,
) -> None:
    """Repair cards from Stripe: drop those gone there, refresh expiry, keep one primary."""
    settings = get_settings()
    configure_logging(settings.log_level)
    if settings.payment_provider is not ProviderName.STRIPE:
        typer.echo("billing: stripe-sync needs BILLING_PAYMENT_PROVIDER=stripe", err=True)
        raise typer.Exit(2)
    check_database(settings)
    raise typer.Exit(asyncio.run(_stripe_sync(settings, account)))


async def _stripe_sync(settings: Settings, account: str | None) -> int:
    from app.cards.sync import sync_accounts
    from app.runtime import build_runtime

    runtime = build_runtime(settings)
    try:
        report = await sync_accounts(
            runtime.sessionmaker, runtime.providers, runtime.clock, account
        )
    finally:
        await runtime.close()
    for result in report.synced:
        if not result.changed:
            typer.echo(f"{result.account_id}: in sync")
            continue
        line = (
            f"{result.account_id}: {len(result.removed)} card(s) removed, "
            f"{len(result.refreshed)} refreshed, {len(result.detached)} detached at Stripe"
        )
        if result.promoted is not None:
            line += f", {result.promoted} is now primary"
        typer.echo(line)
    for account_id, reason in report.failed.items():
        typer.echo(f"{account_id}: failed: {reason}", err=True)
    repaired = sum(result.changed for result in report.synced)
    typer.echo(
        f"{len(report.synced) + len(report.failed)} account(s) checked: "
        f"{repaired} repaired, {len(report.failed)} failed"
    )
    return 1 if report.failed else 0


def main() -> None:
    try:
        cli()
    except (SettingsError, StartupError) as exc:
        sys.exit(f"billing: {exc}")

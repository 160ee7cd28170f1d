"""The `billing` command line: serve, migrate, mint tokens, print the OpenAPI document."""

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
import uvicorn

from app.core.auth import issue_token
from app.core.config import get_settings, parse_duration
from app.core.migrate import upgrade

cli = typer.Typer(help="Billing service.", no_args_is_help=True, add_completion=False)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving.")] = True,
) -> None:
    """Apply migrations, then serve the API."""
    settings = get_settings()
    if migrate:
        upgrade(settings)
    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=30,
    )


@cli.command("migrate")
def migrate_command(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations up to REVISION."""
    upgrade(get_settings(), revision)
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


def main() -> None:
    cli()

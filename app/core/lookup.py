"""Get-or-404 in one place: a service's lookup either finds its row or raises the domain's
not-found error."""

from typing import TypeVar

from app.core.errors import BillingError

T = TypeVar("T")


def found(value: T | None, missing: type[BillingError], detail: str) -> T:
    """`value`, unless it is None: then `missing(detail)` is raised (a 404 of the domain)."""
    if value is None:
        raise missing(detail)
    return value

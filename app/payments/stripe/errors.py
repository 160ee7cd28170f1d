"""Stripe's exceptions and error objects in the contract's terms, in one place."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import stripe

from app.payments.errors import (
    CardDeclined,
    PaymentMethodNotFound,
    PaymentProviderError,
    PaymentProviderUnavailable,
    decline_code,
)

logger = logging.getLogger("billing.stripe")


def log(operation: str, exc: stripe.StripeError) -> None:
    # Stripe's message is left out: it can quote what the customer typed.
    level = logging.INFO if isinstance(exc, stripe.CardError) else logging.WARNING
    logger.log(
        level,
        "stripe %s failed: %s (status %s, code %s, request %s)",
        operation,
        type(exc).__name__,
        exc.http_status,
        exc.code,
        exc.request_id,
    )


def is_missing(exc: stripe.StripeError) -> bool:
    # localstripe answers an unknown id with a bare 404, without Stripe's `resource_missing`.
    return isinstance(exc, stripe.InvalidRequestError) and (
        exc.code == "resource_missing" or exc.http_status == 404
    )


class _PaymentError(Protocol):
    """Stripe's error object, on an exception, a PaymentIntent or a webhook's payload."""

    @property
    def code(self) -> str | None: ...

    @property
    def decline_code(self) -> str | None: ...


def decline_of(error: _PaymentError | None) -> str:
    """The contract's code for a Stripe payment error: its decline code, else its error code.

    Codes the contract does not list become `card_declined` (see `app.payments.errors`).
    """
    return decline_code((error.decline_code or error.code) if error is not None else None)


def card_error_decline(exc: stripe.CardError) -> str:
    return decline_of(exc.error) if exc.error is not None else decline_code(exc.code)


def _unavailable(exc: stripe.StripeError) -> bool:
    return isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError)


@contextmanager
def translated(
    operation: str, *, payment_method: str | None = None, declines: bool = False
) -> Iterator[None]:
    """Turn Stripe's exceptions into the contract's errors for the calls made inside."""
    try:
        yield
    except stripe.StripeError as exc:
        log(operation, exc)
        if declines and isinstance(exc, stripe.CardError):
            raise CardDeclined(card_error_decline(exc)) from exc
        if payment_method is not None and is_missing(exc):
            raise PaymentMethodNotFound(f"No payment method {payment_method}.") from exc
        if _unavailable(exc):
            raise PaymentProviderUnavailable(
                "Stripe cannot be reached right now; try again shortly."
            ) from exc
        raise PaymentProviderError(f"Stripe refused to {operation}.") from exc

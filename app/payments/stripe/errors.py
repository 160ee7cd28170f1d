"""Stripe's exceptions and error objects in the contract's terms, in one place."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import stripe

from app.payments.errors import (
    AUTHENTICATION_FAILED,
    AUTHENTICATION_REQUIRED,
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


# Stripe's answers about 3-D Secure, which are not declines:
# - `authentication_required` (as error code and as decline code): the bank wants the
#   cardholder for an off-session payment. Stripe raises it as a CardError from the
#   confirmation and leaves the PaymentIntent `requires_payment_method`. localstripe instead
#   answers that confirmation with the PaymentIntent in `requires_action` (what Stripe does
#   on-session); both read as a payment waiting for the cardholder's challenge.
# - `payment_intent_authentication_failure`, `setup_intent_authentication_failure`: the
#   cardholder failed the challenge; the intent is back to `requires_payment_method`.
_AUTHENTICATION_CODES = {
    "authentication_required": AUTHENTICATION_REQUIRED,
    "payment_intent_authentication_failure": AUTHENTICATION_FAILED,
    "setup_intent_authentication_failure": AUTHENTICATION_FAILED,
}


def failure_code(raw: str | None) -> str:
    """The contract's code for why Stripe did not take a payment or save a card."""
    return _AUTHENTICATION_CODES.get(raw or "") or decline_code(raw)


def raw_code(error: object) -> str | None:
    """A Stripe error object's decline code, else its error code. Read leniently: the SDK's
    objects raise AttributeError for a field that is absent, and localstripe leaves out
    fields Stripe sends as null."""
    raw = getattr(error, "decline_code", None) or getattr(error, "code", None)
    return str(raw) if raw else None


def failure_of(error: object) -> str:
    """`failure_code` of a payment or setup error, on an exception, an intent or a webhook."""
    return failure_code(raw_code(error))


def card_error_code(exc: stripe.CardError) -> str | None:
    """A card error's decline code, else its error code."""
    return raw_code(exc.error) or exc.code


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
            raise CardDeclined(card_error_code(exc)) from exc
        if payment_method is not None and is_missing(exc):
            raise PaymentMethodNotFound(f"No payment method {payment_method}.") from exc
        if _unavailable(exc):
            raise PaymentProviderUnavailable(
                "Stripe cannot be reached right now; try again shortly."
            ) from exc
        raise PaymentProviderError(f"Stripe refused to {operation}.") from exc

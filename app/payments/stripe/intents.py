"""Stripe's PaymentIntents and SetupIntents, read in the contract's terms.

A PaymentIntent either succeeded, waits for the cardholder's 3-D Secure challenge, or is
over without money; a SetupIntent has the four statuses the contract shows. localstripe
leaves out fields Stripe sends as null, so optional fields are read leniently.
"""

import stripe

from app.payments.errors import AUTHENTICATION_REQUIRED
from app.payments.provider import PaymentState, PaymentStatus, SetupIntentInfo, SetupStatus
from app.payments.stripe.errors import failure_of, raw_code

_PAYMENT_STATUSES = {
    "succeeded": PaymentStatus.SUCCEEDED,
    # localstripe's answer to an off-session confirmation the bank wants authenticated.
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    # After Stripe's `authentication_required` the provider puts the card back on the
    # intent, which then waits for the frontend's confirmation, challenge included.
    "requires_confirmation": PaymentStatus.REQUIRES_ACTION,
}


def payment_state(intent: stripe.PaymentIntent) -> PaymentState:
    """Where a PaymentIntent stands. Anything but a success or a wait for the cardholder is
    over without money for us (declined, failed the challenge, canceled); `processing` is
    too, for now, and its webhook reports how it ends."""
    status = _PAYMENT_STATUSES.get(intent.status, PaymentStatus.FAILED)
    code: str | None = None
    if status is PaymentStatus.REQUIRES_ACTION:
        code = AUTHENTICATION_REQUIRED
    elif status is PaymentStatus.FAILED and intent.status != "canceled":
        code = failure_of(getattr(intent, "last_payment_error", None))
    return PaymentState(
        provider_payment_id=intent.id,
        status=status,
        failure_code=code,
        client_secret=intent.client_secret if status is PaymentStatus.REQUIRES_ACTION else None,
    )


_SETUP_STATUSES = {
    "requires_payment_method": SetupStatus.REQUIRES_PAYMENT_METHOD,
    # Not confirmed yet: for the frontend, still the first step.
    "requires_confirmation": SetupStatus.REQUIRES_PAYMENT_METHOD,
    "requires_action": SetupStatus.REQUIRES_ACTION,
    # Under way at the bank (rare for cards): the frontend waits, as for a challenge.
    "processing": SetupStatus.REQUIRES_ACTION,
    "succeeded": SetupStatus.SUCCEEDED,
    "canceled": SetupStatus.CANCELED,
}


def _id_of(value: object) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the object."""
    if value is None or isinstance(value, str):
        return value
    found = getattr(value, "id", None)
    return found if isinstance(found, str) else None


def setup_intent_info(intent: stripe.SetupIntent) -> SetupIntentInfo:
    error = getattr(intent, "last_setup_error", None)
    return SetupIntentInfo(
        provider_id=intent.id,
        customer_id=_id_of(getattr(intent, "customer", None)),
        client_secret=intent.client_secret or "",
        status=_SETUP_STATUSES.get(intent.status, SetupStatus.REQUIRES_PAYMENT_METHOD),
        payment_method_id=_id_of(getattr(intent, "payment_method", None)),
        last_error=failure_of(error) if raw_code(error) is not None else None,
    )

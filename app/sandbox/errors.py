"""What the sandbox's stand-ins for Stripe.js and the bank answer with, in Stripe's codes."""

from app.core.errors import Conflict, NotFound


class PaymentIntentNotFound(NotFound, code="payment_intent_not_found"): ...


class SetupIntentUnexpectedState(
    Conflict, code="setup_intent_unexpected_state", title="Setup intent in an unexpected state"
):
    """Stripe's code for a setup intent asked to do what its status does not allow."""


class PaymentIntentUnexpectedState(
    Conflict, code="payment_intent_unexpected_state", title="Payment intent in an unexpected state"
): ...

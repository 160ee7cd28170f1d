"""What a payment provider can answer with, in the contract's terms.

Both providers raise these, and so do the services that charge: a decline is one
`CardDeclined` whose problem code is the decline's own (`expired_card`, …), and
`PROVIDER_ERRORS` is every route's pair for a provider that refuses or cannot be reached.
"""

from dataclasses import dataclass

from app.core.errors import RETRY_AFTER_SECONDS, BillingError, NotFound


@dataclass(frozen=True, slots=True)
class Decline:
    code: str
    title: str


GENERIC_DECLINE = Decline("card_declined", "Card declined")
# The decline codes the contract names; any other is shown as the generic one, as Stripe
# advises for what a customer sees (a `stolen_card` decline must not be revealed as such).
DECLINES: dict[str, Decline] = {
    decline.code: decline
    for decline in (
        GENERIC_DECLINE,
        Decline("expired_card", "Expired card"),
        Decline("incorrect_cvc", "Incorrect CVC"),
        Decline("insufficient_funds", "Insufficient funds"),
    )
}


# The contract's codes for a payment the bank wants the cardholder to authenticate (3-D
# Secure), and for a challenge the cardholder failed. Neither is a decline.
AUTHENTICATION_REQUIRED = "authentication_required"
AUTHENTICATION_FAILED = "authentication_failed"


def decline_code(raw: str | None) -> str:
    """The contract's decline code for a provider's decline (or error) code."""
    return DECLINES.get(raw or "", GENERIC_DECLINE).code


class CardDeclined(
    BillingError, status=402, code=GENERIC_DECLINE.code, title=GENERIC_DECLINE.title
):
    """A card was declined: 402, with the decline's own code and title."""

    def __init__(self, raw_decline_code: str | None, detail: str | None = None) -> None:
        self.decline = DECLINES[decline_code(raw_decline_code)]
        super().__init__(detail or f"The card was declined ({self.decline.code}).")

    @property
    def problem_code(self) -> str:
        return self.decline.code

    @property
    def problem_title(self) -> str:
        return self.decline.title

    @classmethod
    def documented_problems(cls) -> tuple[tuple[str, str], ...]:
        return tuple((decline.code, decline.title) for decline in DECLINES.values())


class PaymentMethodNotFound(NotFound, code="payment_method_not_found"): ...


class PaymentProviderError(BillingError, status=502, code="payment_provider_error"): ...


class PaymentProviderUnavailable(BillingError, status=503, code="payment_provider_unavailable"):
    retry_after = RETRY_AFTER_SECONDS


PROVIDER_ERRORS = (PaymentProviderError, PaymentProviderUnavailable)


class InvalidSignature(BillingError, status=400, code="invalid_signature"): ...

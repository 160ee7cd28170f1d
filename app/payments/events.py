"""What a provider's webhooks can tell us, whichever provider sent them."""

from dataclasses import dataclass

from app.payments.provider import PaymentStatus


@dataclass(frozen=True, slots=True)
class PaymentReported:
    """The provider's word on one charge attempt: it succeeded, failed, or waits for the
    cardholder's challenge."""

    # None for a payment that is not a charge of one of our invoices.
    invoice_id: str | None
    provider_payment_id: str
    status: PaymentStatus
    # Why it failed, in the contract's codes (`authentication_failed`, a decline code).
    failure_code: str | None


@dataclass(frozen=True, slots=True)
class SetupSucceeded:
    """A setup intent saved a card for one of the provider's customers."""

    customer_id: str
    payment_method_id: str


@dataclass(frozen=True, slots=True)
class PaymentMethodDetached:
    payment_method_id: str


@dataclass(frozen=True, slots=True)
class PaymentMethodRenewed:
    """A card's expiry or last digits changed at the provider (e.g. the bank reissued it)."""

    payment_method_id: str
    last4: str
    exp_month: int
    exp_year: int


ProviderEvent = PaymentReported | PaymentMethodDetached | PaymentMethodRenewed | SetupSucceeded

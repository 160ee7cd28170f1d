"""What a provider's webhooks can tell us, whichever provider sent them."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PaymentReported:
    """A payment ended: the provider's word on one charge attempt."""

    # None for a payment that is not a charge of one of our invoices.
    invoice_id: str | None
    provider_payment_id: str
    succeeded: bool
    decline_code: str | None


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


ProviderEvent = PaymentReported | PaymentMethodDetached | PaymentMethodRenewed

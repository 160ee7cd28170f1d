"""The payment provider interface: what the service layer asks of sandbox and Stripe alike.

Providers only move data to and from the processor. Every business rule (which card is
primary, when to retry, what an invoice's status becomes) stays in the services, so both
implementations are interchangeable. Providers raise the errors of `app.payments.errors`:
`PaymentMethodNotFound`, `CardDeclined` for declines at attach time, `PaymentProviderError`
(502) and `PaymentProviderUnavailable` (503).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class PaymentMethodInfo:
    """A card as the provider describes it: never its number or CVC."""

    provider_id: str
    fingerprint: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True, slots=True)
class CustomerDetails:
    name: str
    email: str
    line1: str
    line2: str | None
    city: str
    postal_code: str
    state: str | None
    country: str
    vat_id: str | None


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    customer_id: str
    payment_method_id: str
    amount: int
    currency: str
    # The same key for a re-run of the same attempt: the provider answers it once.
    idempotency_key: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChargeResult:
    succeeded: bool
    provider_payment_id: str | None
    # The provider's decline code, mapped to the contract's codes where one fits.
    decline_code: str | None = None


class PaymentProvider(Protocol):
    async def create_customer(self, account_id: str) -> str:
        """Create the provider's customer for an account; return its id."""
        ...

    async def update_customer(self, customer_id: str, details: CustomerDetails) -> None:
        """Replace the customer's name, email, address and VAT id."""
        ...

    async def retrieve_payment_method(self, payment_method_id: str) -> PaymentMethodInfo:
        """Describe a payment method token (`pm_…`) without attaching it."""
        ...

    async def attach_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> PaymentMethodInfo:
        """Attach a payment method to the customer; the card is checked and may be declined."""
        ...

    async def detach_payment_method(self, payment_method_id: str) -> None: ...

    async def set_default_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> None: ...

    async def list_payment_methods(self, customer_id: str) -> list[PaymentMethodInfo]:
        """The customer's cards as the provider has them (for reconciliation)."""
        ...

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge a card off-session. A decline is a result, not an exception."""
        ...


# The provider for a session: the sandbox keeps its records in the session's transaction;
# Stripe's client is one per process and ignores it.
ProviderFactory = Callable[[AsyncSession], PaymentProvider]

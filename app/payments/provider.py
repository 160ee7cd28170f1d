"""The payment provider interface: what the service layer asks of sandbox and Stripe alike.

Providers only move data to and from the processor. Every business rule (which card is
primary, when to retry, what an invoice's status becomes) stays in the services, so both
implementations are interchangeable. Providers raise the errors of `app.payments.errors`:
`PaymentMethodNotFound`, `CardDeclined` for declines at attach time, `PaymentProviderError`
(502) and `PaymentProviderUnavailable` (503).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession


class CardFacts(TypedDict):
    """A card's public facts, as the provider, our `cards`, the sandbox and the API answers
    all keep them (its fingerprint is not one: it is never shown)."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int


class HasCardFacts(Protocol):
    @property
    def brand(self) -> str: ...
    @property
    def last4(self) -> str: ...
    @property
    def exp_month(self) -> int: ...
    @property
    def exp_year(self) -> int: ...


def card_facts(card: HasCardFacts) -> CardFacts:
    """The facts of one card representation, to make another from."""
    return {
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
    }


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
    # Set when the bank asks the cardholder to authenticate the payment (3-D Secure; the
    # decline code is then `authentication_required`): the secret the frontend confirms the
    # payment with. The payment waits for that challenge instead of being over.
    client_secret: str | None = None

    @classmethod
    def of(cls, state: "PaymentState") -> "ChargeResult":
        """The answer to a charge whose payment stands at `state`."""
        return cls(
            succeeded=state.status is PaymentStatus.SUCCEEDED,
            provider_payment_id=state.provider_payment_id,
            decline_code=state.failure_code,
            client_secret=state.client_secret,
        )


class PaymentStatus(StrEnum):
    SUCCEEDED = "succeeded"
    # Waiting for the cardholder's 3-D Secure challenge.
    REQUIRES_ACTION = "requires_action"
    # Over without money: declined, challenge failed, or withdrawn.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PaymentState:
    """Where a payment stands at the provider now."""

    provider_payment_id: str
    status: PaymentStatus
    # Why it is not paid, in the contract's codes; None for a withdrawn payment.
    failure_code: str | None
    client_secret: str | None


class SetupStatus(StrEnum):
    """A setup intent's status, as the contract shows it (Stripe's names)."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class SetupIntentInfo:
    """A setup intent: how a card is saved, with 3-D Secure if the bank asks for it."""

    provider_id: str
    customer_id: str | None
    client_secret: str
    status: SetupStatus
    payment_method_id: str | None
    # Why the last confirmation failed, in the contract's codes (`authentication_failed`,
    # `card_declined`, ...).
    last_error: str | None


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

    async def retrieve_payment(self, provider_payment_id: str) -> PaymentState: ...

    async def cancel_payment(self, provider_payment_id: str) -> PaymentState:
        """Withdraw a payment that is not over, so that it can never succeed later.

        Returns its final state: `succeeded` if the cardholder got there first.
        """
        ...

    async def create_setup_intent(self, customer_id: str) -> SetupIntentInfo:
        """A setup intent for saving a card to the customer for off-session charges."""
        ...

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentInfo | None:
        """The setup intent, or None if the provider has no such intent."""
        ...

    async def saved_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> PaymentMethodInfo:
        """The card a succeeded setup intent saved for the customer, attached to it (again,
        if reconciliation detached it meanwhile). Another customer's card is not found."""
        ...


# The provider for a session: the sandbox keeps its records in the session's transaction;
# Stripe's client is one per process and ignores it.
ProviderFactory = Callable[[AsyncSession], PaymentProvider]

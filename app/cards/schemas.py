from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, Self

from pydantic import Field, model_validator

from app.core.pagination import Page
from app.core.schemas import InputSchema, Schema, UtcDatetime
from app.payments.card_expiry import is_expired, is_expiring_soon
from app.payments.provider import HasCardFacts, SetupIntentInfo, SetupStatus, card_facts
from app.payments.schemas import PublicCard


class CardFields(HasCardFacts, Protocol):
    """What the API shows of a card: an ORM card, or a light row of just these columns."""

    @property
    def id(self) -> str: ...
    @property
    def is_primary(self) -> bool: ...
    @property
    def created_at(self) -> datetime: ...


class CardCreate(InputSchema):
    """Exactly one of `setup_intent` (the way to save a card, 3-D Secure included) or
    `payment_method` (a card that needs no authentication)."""

    payment_method: str | None = Field(
        default=None,
        min_length=3,
        max_length=255,
        pattern=r"^pm_[A-Za-z0-9_]+$",
        description="A payment-method token made by the provider (Stripe.js, or the sandbox).",
        examples=["pm_card_visa"],
    )
    setup_intent: str | None = Field(
        default=None,
        min_length=6,
        max_length=255,
        pattern=r"^seti_[A-Za-z0-9_]+$",
        description=(
            "A succeeded setup intent of this account (`POST /v1/cards/setup-intents`): its "
            "card is added. The same intent again answers 200 with the same card."
        ),
        examples=["seti_1QbX2Y3Z4a5b6c7d"],
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.payment_method is None) == (self.setup_intent is None):
            raise ValueError("give exactly one of payment_method or setup_intent")
        return self


class SetupIntent(Schema):
    """A card being saved: confirmed by the frontend (Stripe.js `confirmCardSetup` with the
    `client_secret`), which runs the bank's 3-D Secure challenge if it asks for one."""

    id: str = Field(examples=["seti_1QbX2Y3Z4a5b6c7d"])
    client_secret: str = Field(examples=["seti_1QbX2Y3Z4a5b6c7d_secret_Pq8rS1tU6vW"])
    status: SetupStatus
    last_error: str | None = Field(
        description="Why the last confirmation failed: `authentication_failed`, a decline code.",
        examples=[None],
    )

    @classmethod
    def build(cls, intent: SetupIntentInfo) -> "SetupIntent":
        return cls(
            id=intent.provider_id,
            client_secret=intent.client_secret,
            status=intent.status,
            last_error=intent.last_error,
        )


class Card(PublicCard):
    id: str = Field(examples=["card_8Zt2bXkq3LmN4pQr5StU6vWx"])
    is_primary: bool = Field(description="The card charged for invoices; exactly one per account.")
    is_expired: bool
    is_expiring_soon: bool = Field(
        description="Still valid, but its expiry month ends within 30 days: time for a new card."
    )
    created_at: UtcDatetime

    @staticmethod
    def fields(card: CardFields, now: datetime) -> dict[str, Any]:
        """The card as the API shows it at `now`, before validation."""
        return {
            "id": card.id,
            **card_facts(card),
            "is_primary": card.is_primary,
            "is_expired": is_expired(card.exp_year, card.exp_month, now),
            "is_expiring_soon": is_expiring_soon(card.exp_year, card.exp_month, now),
            "created_at": card.created_at,
        }

    @classmethod
    def build(cls, card: CardFields, now: datetime) -> "Card":
        return cls.model_validate(cls.fields(card, now))


class CardList(Page[Card]):
    """An account's cards (at most 10, so always one page): primary first, then newest."""

    @classmethod
    def build(cls, cards: Sequence[CardFields], now: datetime) -> Self:
        """All of them, validated in one call."""
        return cls.of([Card.fields(card, now) for card in cards], False, None)

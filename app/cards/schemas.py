from datetime import datetime

from pydantic import Field

from app.core.pagination import Page
from app.core.schemas import InputSchema, Schema, UtcDatetime
from app.models import Card as CardModel


class CardCreate(InputSchema):
    payment_method: str = Field(
        min_length=3,
        max_length=255,
        pattern=r"^pm_[A-Za-z0-9_]+$",
        description="A payment-method token made by the provider (Stripe.js, or the sandbox).",
        examples=["pm_card_visa"],
    )


class Card(Schema):
    id: str = Field(examples=["card_8Zt2bXkq3LmN4pQr5StU6vWx"])
    brand: str = Field(examples=["visa"])
    last4: str = Field(examples=["4242"])
    exp_month: int = Field(examples=[12])
    exp_year: int = Field(examples=[2030])
    is_primary: bool = Field(description="The card charged for invoices; exactly one per account.")
    is_expired: bool
    created_at: UtcDatetime

    @classmethod
    def build(cls, card: CardModel, now: datetime) -> "Card":
        return cls(
            id=card.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            is_primary=card.is_primary,
            is_expired=is_expired(card, now),
            created_at=card.created_at,
        )


class CardList(Page[Card]):
    """An account's cards (at most 10, so always one page): primary first, then newest."""


def is_expired(card: CardModel, now: datetime) -> bool:
    # A card is valid through the last day of its expiry month.
    return (card.exp_year, card.exp_month) < (now.year, now.month)

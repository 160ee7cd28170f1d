"""What an API answer shows of a card, wherever the card comes from."""

from pydantic import Field

from app.core.schemas import Schema


class PublicCard(Schema):
    """A card's id and public facts: never its number or CVC. Subclasses give `id` their
    own example and add their fields after these."""

    id: str
    brand: str = Field(examples=["visa"])
    last4: str = Field(examples=["4242"])
    exp_month: int = Field(examples=[12])
    exp_year: int = Field(examples=[2030])

from typing import Annotated

from pydantic import Field

from app.core.schemas import InputSchema, Schema


class SandboxPaymentMethodCreate(InputSchema):
    """A test card, as Stripe.js would collect it. Only the sandbox provider accepts this."""

    number: Annotated[str, Field(min_length=12, max_length=23, examples=["4242424242424242"])]
    exp_month: Annotated[int, Field(examples=[12])]
    exp_year: Annotated[int, Field(examples=[2030])]
    cvc: Annotated[str, Field(min_length=3, max_length=4, examples=["123"])]


class SandboxPaymentMethod(Schema):
    id: str = Field(examples=["pm_1a2B3c4D5e6F7g8H9i0J1k2L"])
    brand: str = Field(examples=["visa"])
    last4: str = Field(examples=["4242"])
    exp_month: int = Field(examples=[12])
    exp_year: int = Field(examples=[2030])

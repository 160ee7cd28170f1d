from typing import Annotated, Self

from pydantic import Field, StrictBool, model_validator

from app.core.schemas import InputSchema, Schema
from app.models import SandboxCharge
from app.payments.schemas import PublicCard


class SandboxPaymentMethodCreate(InputSchema):
    """A test card, as Stripe.js would collect it. Only the sandbox provider accepts this."""

    number: Annotated[str, Field(min_length=12, max_length=23, examples=["4242424242424242"])]
    exp_month: Annotated[int, Field(examples=[12])]
    exp_year: Annotated[int, Field(examples=[2030])]
    cvc: Annotated[str, Field(min_length=3, max_length=4, examples=["123"])]


class SandboxPaymentMethod(PublicCard):
    id: str = Field(examples=["pm_1a2B3c4D5e6F7g8H9i0J1k2L"])


class SandboxSetupConfirm(InputSchema):
    """What Stripe.js's `confirmCardSetup` sends: a card typed in, or a payment method."""

    number: Annotated[
        str | None, Field(min_length=12, max_length=23, examples=["4000002760003184"])
    ] = None
    exp_month: Annotated[int | None, Field(examples=[12])] = None
    exp_year: Annotated[int | None, Field(examples=[2030])] = None
    cvc: Annotated[str | None, Field(min_length=3, max_length=4, examples=["123"])] = None
    payment_method: Annotated[
        str | None,
        Field(
            min_length=3,
            max_length=255,
            pattern=r"^pm_[A-Za-z0-9_]+$",
            examples=["pm_card_authenticationRequired"],
        ),
    ] = None

    @model_validator(mode="after")
    def _card_or_payment_method(self) -> Self:
        card = (self.number, self.exp_month, self.exp_year, self.cvc)
        if self.payment_method is not None:
            if any(part is not None for part in card):
                raise ValueError("give a card or a payment_method, not both")
        elif any(part is None for part in card):
            raise ValueError("give number, exp_month, exp_year and cvc, or a payment_method")
        return self

    def card(self) -> SandboxPaymentMethodCreate:
        """The card typed in (when no payment_method was given)."""
        return SandboxPaymentMethodCreate.model_validate(
            self.model_dump(include={"number", "exp_month", "exp_year", "cvc"})
        )


class SandboxChallenge(InputSchema):
    """The cardholder's answer to the bank's 3-D Secure challenge."""

    success: StrictBool = Field(
        description="True: authenticated; false: failed (or gave up).", examples=[True]
    )


class SandboxPaymentIntent(Schema):
    """A sandbox charge after its challenge: `succeeded`, or `requires_payment_method` with
    `last_error` (`authentication_failed`, or a decline), as a Stripe PaymentIntent."""

    id: str = Field(examples=["pi_4fG7hJ2kL9mN3pQ8rS1tU6vW"])
    status: str = Field(examples=["succeeded"])
    last_error: str | None = Field(examples=[None])

    @classmethod
    def build(cls, charge: SandboxCharge) -> "SandboxPaymentIntent":
        succeeded = charge.decline_code is None
        return cls(
            id=charge.id,
            status="succeeded" if succeeded else "requires_payment_method",
            last_error=charge.decline_code,
        )

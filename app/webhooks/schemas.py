"""Our acknowledgement of a provider's webhook."""

from typing import Literal

from pydantic import Field

from app.core.schemas import Schema


class WebhookReceipt(Schema):
    """The event was accepted; Stripe needs nothing but the 2xx."""

    received: bool = Field(default=True, examples=[True])
    event_id: str = Field(examples=["evt_1QbX2Y3Z4a5b6c7d"])
    outcome: Literal["processed", "duplicate", "ignored"] = Field(
        description=(
            "`processed`: applied now; `duplicate`: this event id was applied before, nothing "
            "done; `ignored`: a type the service does not act on."
        ),
        examples=["processed"],
    )

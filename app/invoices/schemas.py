from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self

from pydantic import Field, computed_field, field_validator, model_validator

from app.billing_details.schemas import BillingSnapshot
from app.core.pagination import Page
from app.core.reads import LightRow
from app.core.schemas import InputDatetime, InputSchema, PlatformId, Schema, UtcDatetime
from app.invoices.limits import MAX_AMOUNT
from app.invoices.localization import tender_currencies
from app.models import Invoice as InvoiceModel
from app.models import InvoiceStatus, PaymentOutcome
from app.models.invoice import awaiting_authentication

STATUS_LABELS: dict[InvoiceStatus, str] = {
    InvoiceStatus.PAYMENT_PENDING: "Payment pending",
    InvoiceStatus.PAID: "Paid",
    InvoiceStatus.PAYMENT_DUE: "Payment due",
    InvoiceStatus.NOT_PAID: "Not paid",
    InvoiceStatus.VOIDED: "Voided",
}


class InvoiceLineCreate(InputSchema):
    description: Annotated[
        str, Field(min_length=1, max_length=500, examples=["Compute: 720 vCPU-hours"])
    ]
    quantity: Annotated[int, Field(ge=1, le=1_000_000, examples=[720])]
    unit_amount: Annotated[
        int,
        Field(
            ge=-MAX_AMOUNT,
            le=MAX_AMOUNT,
            description="Minor units; negative for a credit or discount line.",
            examples=[2],
        ),
    ]


class InvoiceCreate(InputSchema):
    account_id: PlatformId
    project_id: PlatformId
    currency: Annotated[str, Field(pattern=r"^[a-z]{3}$", examples=["eur"])]
    period_start: InputDatetime = Field(examples=["2026-10-01T00:00:00Z"])
    period_end: InputDatetime = Field(examples=["2026-11-01T00:00:00Z"])
    lines: Annotated[list[InvoiceLineCreate], Field(min_length=1, max_length=250)]
    tax: Annotated[
        int, Field(ge=0, le=MAX_AMOUNT, description="Tax in minor units, computed by the platform.")
    ] = 0

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in tender_currencies():
            raise ValueError("not an ISO 4217 currency in use (eur, usd, jpy, ...)")
        return value

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        return self


class InvoiceLine(Schema):
    description: str
    quantity: int
    unit_amount: int
    amount: int


class PaymentAttempt(Schema):
    attempted_at: UtcDatetime
    card_last4: str | None = Field(examples=["4242"])
    outcome: PaymentOutcome
    decline_code: str | None = Field(examples=["insufficient_funds"])


class NextAction(Schema):
    """What the customer must do before the invoice can be paid: the bank's challenge."""

    type: Literal["authenticate"] = "authenticate"
    payment_intent: str = Field(examples=["pi_3QbX2Y3Z4a5b6c7d"])
    client_secret: str = Field(
        description=(
            "Run the challenge with Stripe.js `confirmCardPayment(client_secret)` (sandbox: "
            "`POST /v1/sandbox/payment-intents/{payment_intent}/authenticate`)."
        ),
        examples=["pi_3QbX2Y3Z4a5b6c7d_secret_4fG7hJ2kL9mN3pQ8rS1tU6vW"],
    )


class InvoiceSummary(Schema):
    """An invoice as lists show it: everything but its lines and payment attempts.

    Validated straight from the ORM row (`from_attributes`): lists build twenty of these
    per request, and pydantic-core reads the attributes faster than Python code could.
    """

    # (The docstring above is the schema's description in the committed OpenAPI document, so
    # it stays as it is. Reads validate it from the columns of `repository.SUMMARY_COLUMNS`.)

    id: str = Field(examples=["in_4fG7hJ2kL9mN3pQ8rS1tU6vW"])
    number: str | None = Field(
        description="Assigned at finalization: unique per account, sequential without gaps.",
        examples=["3F9A1C2B-0001"],
    )
    account_id: str
    project_id: str
    project_name: str
    status: InvoiceStatus
    currency: str = Field(examples=["eur"])
    subtotal: int = Field(examples=[1940])
    tax: int = Field(examples=[0])
    total: int = Field(examples=[1940])
    amount_paid: int = Field(examples=[0])
    amount_due: int = Field(examples=[1940])
    period_start: UtcDatetime
    period_end: UtcDatetime
    created_at: UtcDatetime
    finalized_at: UtcDatetime | None
    due_date: UtcDatetime | None
    paid_at: UtcDatetime | None
    voided_at: UtcDatetime | None
    attempt_count: int
    next_payment_attempt: UtcDatetime | None
    failure_reason: str | None = Field(examples=["insufficient_funds"])
    next_action: NextAction | None = Field(
        default=None,
        description=(
            "Set while a charge waits for the cardholder's 3-D Secure challenge "
            "(`failure_reason: authentication_required`); always null in lists."
        ),
    )
    billing_details: BillingSnapshot | None = Field(
        validation_alias="billing_snapshot",
        description="Billing details as they were at finalization; null for a draft.",
    )

    @computed_field(examples=["Payment due"])  # type: ignore[prop-decorator]
    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @computed_field(examples=["/v1/invoices/in_4fG7hJ2kL9mN3pQ8rS1tU6vW/pdf"])  # type: ignore[prop-decorator]
    @property
    def pdf_url(self) -> str | None:
        return None if self.finalized_at is None else f"/v1/invoices/{self.id}/pdf"

    @classmethod
    def build(cls, invoice: InvoiceModel) -> Self:
        return cls.model_validate(invoice)


class Invoice(InvoiceSummary):
    """An invoice with its lines and the history of its payment attempts."""

    lines: list[InvoiceLine]
    payment_attempts: list[PaymentAttempt]

    @classmethod
    def build(cls, invoice: InvoiceModel) -> Self:
        built = cls.model_validate(invoice)
        built.next_action = next_action(invoice.status, invoice.payment_attempts)
        return built

    @classmethod
    def from_rows(
        cls, invoice: LightRow, attempts: Sequence[LightRow], lines: Sequence[LightRow]
    ) -> Self:
        """From light rows: the summary columns, the attempts' and the lines' (in order)."""
        built = cls.model_validate(
            {**invoice._asdict(), "lines": lines, "payment_attempts": attempts}
        )
        built.next_action = next_action(invoice.status, attempts)
        return built


def next_action(status: InvoiceStatus, attempts: Sequence[Any]) -> NextAction | None:
    """The challenge the invoice waits for, from its attempts (ORM objects or light rows)."""
    attempt = awaiting_authentication(status, attempts)
    if attempt is None or attempt.provider_payment_id is None or attempt.client_secret is None:
        return None
    return NextAction(
        payment_intent=attempt.provider_payment_id, client_secret=attempt.client_secret
    )


class InvoiceList(Page[InvoiceSummary]):
    """Invoices, newest first."""

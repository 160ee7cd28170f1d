"""SQLAlchemy models: the whole schema, mirrored by the Alembic migrations."""

from app.core.db import Base
from app.models.account import Account
from app.models.billing_details import BillingDetails
from app.models.card import Card
from app.models.card_add_attempt import CardAddAttempt
from app.models.event import (
    DeliveryStatus,
    Event,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from app.models.idempotency import IdempotencyKey
from app.models.invoice import Invoice, InvoiceLine, InvoiceStatus, PaymentAttempt, PaymentOutcome
from app.models.project import Project
from app.models.sandbox import (
    SandboxCharge,
    SandboxChargeStatus,
    SandboxPaymentMethod,
    SandboxSetupIntent,
)
from app.models.webhook_event import WebhookEvent

__all__ = [
    "Account",
    "Base",
    "BillingDetails",
    "Card",
    "CardAddAttempt",
    "DeliveryStatus",
    "Event",
    "IdempotencyKey",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "PaymentAttempt",
    "PaymentOutcome",
    "Project",
    "SandboxCharge",
    "SandboxChargeStatus",
    "SandboxPaymentMethod",
    "SandboxSetupIntent",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookEndpoint",
    "WebhookEvent",
]

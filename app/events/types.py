"""The events the platform can subscribe to."""

from enum import StrEnum


class EventType(StrEnum):
    INVOICE_FINALIZED = "invoice.finalized"
    INVOICE_PAID = "invoice.paid"
    # After every failed charge; the invoice carries failure_reason, next_payment_attempt and
    # next_action.
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
    # No automatic retry is left: the platform warns the customer, and in the end suspends.
    INVOICE_NOT_PAID = "invoice.not_paid"
    INVOICE_VOIDED = "invoice.voided"
    CARD_ADDED = "card.added"
    CARD_REMOVED = "card.removed"
    CARD_PRIMARY_CHANGED = "card.primary_changed"
    # Once per card and expiry, 30 days before the end of the card's expiry month.
    CARD_EXPIRING = "card.expiring"
    BILLING_DETAILS_UPDATED = "billing_details.updated"


# An endpoint subscribing to "*" receives every type, including types added later.
ALL_EVENTS = "*"

"""Business events: one structured log line each, plus the Prometheus counters behind them.

Domain services call these functions; what an event records and which counter it moves lives
here only. Lines are written as JSON by app/core/logging.py; HTTP requests are measured and
logged by app/core/metrics.py.
"""

import logging
from typing import Any

from prometheus_client import Counter

from app.core.request_context import current_account_id, current_request_id

_events = logging.getLogger("billing.events")

CHARGE_ATTEMPTS = Counter(
    "billing_charge_attempts_total", "Invoice charge attempts by outcome.", ["outcome"]
)
INVOICE_TRANSITIONS = Counter(
    "billing_invoice_transitions_total",
    "Invoice status transitions.",
    ["from_status", "to_status"],
)


def log_event(event: str, **fields: Any) -> None:
    """Record a business event (`card.added`, `invoice.paid`, …). Never pass secrets."""
    context = {"request_id": current_request_id(), "account_id": current_account_id()}
    _events.info(event, extra={"event": event, **context, **fields})


def count_charge(outcome: str) -> None:
    CHARGE_ATTEMPTS.labels(outcome=outcome).inc()


def count_invoice_transition(from_status: str, to_status: str) -> None:
    INVOICE_TRANSITIONS.labels(from_status=from_status, to_status=to_status).inc()

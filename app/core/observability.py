"""Business events: one structured log line each, plus the Prometheus counters behind them.

Domain services call these functions; what an event records and which counter it moves lives
here only. Lines are written as JSON by app/core/logging.py; HTTP requests are measured and
logged by `app.core.logging.log_request`.

An event is a fact only once its transaction commits: `log_event` holds the line on the
session and writes it after the commit, and drops it if the transaction (or the savepoint it
was logged in) rolls back. A request that fails on a conflict leaves no false line behind.
"""

import logging
from typing import Any

from prometheus_client import Counter
from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.core.request_context import current_account_id, current_request_id

_events = logging.getLogger("billing.events")
_PENDING = "billing.pending_events"
_SAVEPOINT_MARKS = "billing.pending_events_marks"

CHARGE_ATTEMPTS = Counter(
    "billing_charge_attempts_total", "Invoice charge attempts by outcome.", ["outcome"]
)
INVOICE_TRANSITIONS = Counter(
    "billing_invoice_transitions_total",
    "Invoice status transitions.",
    ["from_status", "to_status"],
)


def log_event(session: AsyncSession, event: str, **fields: Any) -> None:
    """Record a business event (`card.added`, `invoice.paid`, …) of the session's transaction:
    written once it commits, never if it rolls back. Never pass secrets."""
    context = {"request_id": current_request_id(), "account_id": current_account_id()}
    pending: list[dict[str, Any]] = session.info.setdefault(_PENDING, [])
    pending.append({"event": event, **context, **fields})


@orm_event.listens_for(Session, "after_commit")
def _write_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its events wait for the transaction's own commit
    session.info.pop(_SAVEPOINT_MARKS, None)
    for extra in session.info.pop(_PENDING, []):
        _events.info(extra["event"], extra=extra)


@orm_event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINT_MARKS, {})
        marks[id(transaction)] = len(session.info.get(_PENDING, ()))


@orm_event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if previous_transaction.nested:
        mark = session.info.get(_SAVEPOINT_MARKS, {}).pop(id(previous_transaction), None)
        if pending is not None and mark is not None:
            del pending[mark:]
    elif previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_SAVEPOINT_MARKS, None)


def count_charge(outcome: str) -> None:
    CHARGE_ATTEMPTS.labels(outcome=outcome).inc()


def count_invoice_transition(from_status: str, to_status: str) -> None:
    INVOICE_TRANSITIONS.labels(from_status=from_status, to_status=to_status).inc()

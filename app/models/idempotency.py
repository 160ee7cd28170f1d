from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class IdempotencyKey(Base):
    """A caller's `Idempotency-Key` and the first response to it, kept for 24 hours.

    The primary key (caller, key) is what makes a second concurrent request with the same
    key lose: only one insert of it can commit. `status` is None while the first request
    is still running.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    # `account:<id>` for an account's token, `platform` for an admin token.
    caller: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 (hex) of the method, the path with its query and the body's own SHA-256.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    # The response's headers as [name, value] pairs, and its body, exactly as first sent.
    headers: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)

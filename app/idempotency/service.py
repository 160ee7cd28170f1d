"""The rules of `Idempotency-Key`, on the database, so that every replica shares them.

A key is claimed by inserting its row "in progress" in a short transaction of its own,
committed before the request runs: of two concurrent requests with one key, only one insert
can commit, and the other is told 409 `idempotency_key_in_use`. The first response under
500 is stored on the row and answered again, unchanged, to a repeat of the same request for
24 hours; a 5xx (or a crash) deletes the row, so that the client may retry.
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import Clock
from app.core.outage import database_unavailable
from app.idempotency import repository
from app.idempotency.errors import IdempotencyKeyInUse, IdempotencyKeyReused

logger = logging.getLogger("billing.idempotency")

KEPT_FOR = timedelta(hours=24)
# A request still "in progress" this long after it began died with its process (a
# request's own calls time out well before): its key is free again.
ABANDONED_AFTER = timedelta(minutes=10)
# How often a process deletes every caller's expired keys (each caller's own expired key
# is replaced on its next use anyway).
PURGE_EVERY_SECONDS = 600.0


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests "the same": method, path with query, and the body's SHA-256."""
    request = f"{method}\n{path}?{query.decode('latin-1')}\n{hashlib.sha256(body).hexdigest()}"
    return hashlib.sha256(request.encode()).hexdigest()


def provider_key(caller: str, key: str) -> str:
    """The key the provider's own idempotency keys are derived from.

    Unique to the caller (two accounts may pick the same key, and the provider's keys are
    shared by all of them) and of a fixed length whatever the client's key.
    """
    return hashlib.sha256(f"{caller}\n{key}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: list[list[str]]
    body: bytes


class IdempotencyStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._next_purge = time.monotonic()

    async def begin(self, caller: str, key: str, request: str) -> StoredResponse | None:
        """Claim the key for this request (None: run it), or the stored response to replay.

        Raises `IdempotencyKeyReused` if the key was used for another request, and
        `IdempotencyKeyInUse` while the first request with it is still running.
        """
        now = self._clock.now()
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
            await self._purge(now)
        async with self._sessionmaker() as session:
            values = {
                "caller": caller,
                "key": key,
                "fingerprint": request,
                "created_at": now,
                "expires_at": now + KEPT_FOR,
            }
            # Twice at most: the second time after an expired or abandoned use is removed.
            for _ in range(2):
                if await repository.insert(session, values):
                    await session.commit()
                    return None
                existing = await repository.get(session, caller, key)
                if existing is None:
                    continue
                abandoned = existing.status is None and existing.created_at <= now - ABANDONED_AFTER
                if existing.expires_at <= now or abandoned:
                    await repository.remove(session, caller, key, existing.created_at)
                    continue
                # Read before the rollback, which expires the row.
                stored = existing.fingerprint, existing.status, existing.headers, existing.body
                await session.rollback()
                return _replay_of(request, *stored)
        raise IdempotencyKeyInUse("Another request is using this Idempotency-Key.")

    async def _purge(self, now: datetime) -> None:
        """Delete every caller's expired keys, in a transaction of its own: two processes
        purging at once may collide, and that must never fail a request."""
        try:
            async with self._sessionmaker() as session:
                await repository.purge_expired(session, now)
                await session.commit()
        except Exception as error:
            # An outage is one line (every request says so); anything else, its traceback.
            logger.warning(
                "purging expired idempotency keys failed", exc_info=not database_unavailable(error)
            )

    async def finish(self, caller: str, key: str, response: StoredResponse) -> None:
        """Keep the response for the key's repeats."""
        async with self._sessionmaker() as session:
            await repository.finish(
                session,
                caller,
                key,
                status=response.status,
                headers=response.headers,
                body=response.body,
            )
            await session.commit()

    async def release(self, caller: str, key: str) -> None:
        """Forget the key's unfinished use: the request failed and may be retried."""
        async with self._sessionmaker() as session:
            await repository.remove_unfinished(session, caller, key)
            await session.commit()


def _replay_of(
    request: str,
    fingerprint: str,
    status: int | None,
    headers: list[list[str]] | None,
    body: bytes | None,
) -> StoredResponse:
    """The response kept for the key, if `request` may have it."""
    if fingerprint != request:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another request (method, path or body); use "
            "a new key for a new request."
        )
    if status is None or headers is None or body is None:
        raise IdempotencyKeyInUse(
            "A request with this Idempotency-Key is still running; retry once it has been answered."
        )
    return StoredResponse(status, headers, body)

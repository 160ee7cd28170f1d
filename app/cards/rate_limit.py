"""The card-add rate limit, a defence against card testing: at most `BILLING_CARD_ADD_LIMIT`
attempts per account over a sliding window, setup intents included.

Counted in the database, so that every replica shares the count. Each attempt is committed
before the provider is asked anything, so an attempt that is then declined (402) still
counts; the account's row lock makes concurrent attempts count one after another.
"""

import math
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts
from app.cards import repository
from app.cards.errors import CardAddRateLimited
from app.core.config import RateLimit
from app.core.db import commit


async def admit_card_add(
    session: AsyncSession, account_id: str, now: datetime, limit: RateLimit
) -> None:
    """Count this attempt and commit it, or refuse it (429) if the window is full."""
    await accounts.lock(session, account_id)
    since = now - limit.period
    recent = await repository.recent_add_attempts(session, account_id, since, limit.count)
    if len(recent) >= limit.count:
        # A slot frees up when the oldest of the window's last `count` attempts leaves it.
        wait = math.ceil((recent[-1] + limit.period - now).total_seconds())
        raise CardAddRateLimited(
            max(wait, 1),
            f"At most {limit.count} cards may be added per {_period(limit.period)}; "
            "retry after the time in Retry-After.",
        )
    await repository.record_add_attempt(session, account_id, now, forget_before=since)
    # The lock goes with the commit; the card's own change takes it again (`for_update`
    # reads the row afresh).
    await commit(session)


def _period(period: timedelta) -> str:
    seconds = int(period.total_seconds())
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds == length:
            return unit
    return f"{seconds} seconds"

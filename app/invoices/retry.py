"""The retry policy: when a declined invoice is charged again, and when it is given up.

Built once from the settings (`BILLING_RETRY_SCHEDULE`) and handed only to what schedules:
finalization (a decline starts the schedule) and the collector (a decline moves along it).
A charge the customer makes, or a new primary card makes, never touches the schedule.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated

from fastapi import Depends

from app.core.config import Settings
from app.core.runtime import SettingsDep


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The delays of the scheduled retries, the first counted from the first decline and each
    next one from the retry before it."""

    delays: tuple[timedelta, ...]

    @staticmethod
    def from_settings(settings: Settings) -> "RetryPolicy":
        return _policy(tuple(settings.retry_schedule))

    @property
    def retries(self) -> int:
        return len(self.delays)

    def next_attempt(self, retries_made: int, now: datetime) -> datetime | None:
        """When the next retry is due after a decline at `now`, `retries_made` retries into
        the schedule; None once the schedule is spent (the invoice is then not paid)."""
        if retries_made < self.retries:
            return now + self.delays[retries_made]
        return None


@cache
def _policy(delays: tuple[timedelta, ...]) -> RetryPolicy:
    return RetryPolicy(delays)


async def get_retry_policy(settings: SettingsDep) -> RetryPolicy:
    return RetryPolicy.from_settings(settings)


RetryPolicyDep = Annotated[RetryPolicy, Depends(get_retry_policy)]

"""The service's notion of "now", injectable so tests move time instead of sleeping."""

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        # Full precision: rows made within one second keep their order ("newest first").
        # The API shows whole seconds (`UtcDatetime`), the floor of what is stored, so a
        # `created_lt` or `created_gte` given a shown value selects what the client expects.
        return datetime.now(UTC)

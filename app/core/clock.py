"""The service's notion of "now", injectable so tests move time instead of sleeping."""

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        # Full precision, as both databases store it: rows made within one second keep
        # their order ("newest first"), and the API shows exactly what is stored.
        return datetime.now(UTC)

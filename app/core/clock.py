"""The service's notion of "now", injectable so tests move time instead of sleeping."""

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        # Whole seconds, as the API shows them (Stripe's timestamps are seconds too): what
        # a client reads is exactly what is stored and compared.
        return datetime.now(UTC).replace(microsecond=0)

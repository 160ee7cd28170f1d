from datetime import UTC, datetime, timedelta

START = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


class FrozenClock:
    """Time that only moves when a test moves it (plus one second per reading).

    The tick keeps "newest first" well defined for rows created in one test, and whole
    seconds match the API's RFC 3339 timestamps exactly.
    """

    def __init__(self, start: datetime = START) -> None:
        self._now = start

    def now(self) -> datetime:
        self._now += timedelta(seconds=1)
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment

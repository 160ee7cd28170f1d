"""The invoice rules that need no database: the retry policy and the amount limits."""

from datetime import UTC, datetime, timedelta

from app.core.config import Settings
from app.invoices.limits import MAX_AMOUNT, amount_problems
from app.invoices.retry import RetryPolicy

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy((timedelta(days=1), timedelta(days=3), timedelta(days=5)))


class TestRetryPolicy:
    def test_a_first_decline_schedules_the_first_retry(self):
        assert POLICY.next_attempt(0, NOW) == NOW + timedelta(days=1)

    def test_each_retry_takes_the_next_delay_from_its_own_decline(self):
        assert POLICY.next_attempt(1, NOW) == NOW + timedelta(days=3)
        assert POLICY.next_attempt(2, NOW) == NOW + timedelta(days=5)

    def test_the_schedule_ends_after_its_last_retry(self):
        assert POLICY.retries == 3
        assert POLICY.next_attempt(3, NOW) is None
        assert POLICY.next_attempt(4, NOW) is None

    def test_an_empty_schedule_gives_up_at_once(self):
        assert RetryPolicy(()).next_attempt(0, NOW) is None

    def test_is_built_once_per_schedule_from_the_settings(self):
        settings = Settings(retry_schedule="2h,30m")
        policy = RetryPolicy.from_settings(settings)
        assert policy.delays == (timedelta(hours=2), timedelta(minutes=30))
        assert RetryPolicy.from_settings(Settings(retry_schedule="2h,30m")) is policy


class TestAmountLimits:
    def test_sums_within_bounds_are_fine(self):
        assert amount_problems(0, 0) == []
        assert amount_problems(MAX_AMOUNT, MAX_AMOUNT) == []

    def test_lines_adding_up_below_zero_are_refused(self):
        [problem] = amount_problems(-1, 5)
        assert (problem.field, problem.type) == ("lines", "invalid")
        assert "less than zero" in problem.message

    def test_a_total_over_the_ceiling_is_refused(self):
        [problem] = amount_problems(MAX_AMOUNT, MAX_AMOUNT + 1)
        assert problem.message == f"The total exceeds {MAX_AMOUNT} minor units."

    def test_both_problems_are_reported_together(self):
        assert len(amount_problems(-1, MAX_AMOUNT + 1)) == 2

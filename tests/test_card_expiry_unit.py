"""The card-expiry rule: valid through the last day of the expiry month, noticed 30 days
before that month ends."""

from datetime import UTC, datetime

from sqlalchemy import create_engine, literal, select

from app.models import Card
from app.payments.card_expiry import (
    is_earlier_expiry,
    is_expired,
    is_expiring_soon,
    month_index,
    notice_window,
)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


class TestExpiry:
    def test_a_card_is_valid_through_its_whole_expiry_month(self):
        assert not is_expired(2026, 11, at(2026, 11, 30))
        assert is_expired(2026, 11, at(2026, 12, 1))

    def test_an_earlier_year_is_expired_whatever_the_month(self):
        assert is_expired(2025, 12, at(2026, 1, 1))
        assert not is_expired(2027, 1, at(2026, 12, 31))

    def test_consecutive_months_get_consecutive_indexes_across_a_year(self):
        assert month_index(2027, 1) - month_index(2026, 12) == 1

    def test_the_month_index_counts_the_same_in_sql(self):
        assert "exp_year" in str(month_index(Card.exp_year, Card.exp_month))
        with create_engine("sqlite://").connect() as connection:
            in_sql = connection.execute(select(month_index(literal(2026), literal(11))))
            assert in_sql.scalar_one() == month_index(2026, 11)


class TestExpiringSoon:
    def test_the_expiry_month_ending_within_30_days_is_soon(self):
        # November ends on Dec 1st, within 30 days of Nov 15th.
        assert is_expiring_soon(2026, 11, at(2026, 11, 15))

    def test_a_later_expiry_month_is_not_soon_yet(self):
        # December ends on Jan 1st: more than 30 days after Nov 15th.
        assert not is_expiring_soon(2026, 12, at(2026, 11, 15))
        assert is_expiring_soon(2026, 12, at(2026, 12, 2))

    def test_an_expired_card_is_not_expiring_soon(self):
        assert not is_expiring_soon(2026, 10, at(2026, 11, 15))

    def test_the_notice_window_is_this_month_to_the_month_30_days_on(self):
        assert notice_window(at(2026, 11, 15)) == (month_index(2026, 11), month_index(2026, 12))


class TestRenewal:
    def test_an_earlier_expiry_is_a_stale_renewal(self):
        assert is_earlier_expiry(2027, 12, 2028, 1)
        assert not is_earlier_expiry(2028, 1, 2028, 1)
        assert not is_earlier_expiry(2029, 1, 2028, 6)

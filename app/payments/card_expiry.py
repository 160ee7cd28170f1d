"""The card-expiry rule, in one place: a card is valid through the last day of its expiry
month. Cards, the sandbox's charges and card checks, and the expiry notices all ask here;
the month index also works on SQL columns, so a query counts months the same way.
"""

from datetime import datetime, timedelta
from typing import overload

from sqlalchemy import ColumnElement
from sqlalchemy.sql.elements import SQLColumnExpression

# How long before its expiry month ends a card counts as expiring soon (and is announced).
EXPIRY_NOTICE = timedelta(days=30)


@overload
def month_index(year: int, month: int) -> int: ...
@overload
def month_index(
    year: SQLColumnExpression[int], month: SQLColumnExpression[int]
) -> ColumnElement[int]: ...
def month_index(year: object, month: object) -> object:
    """Months since year 0: consecutive months get consecutive numbers."""
    return year * 12 + month - 1  # type: ignore[operator]


def is_expired(exp_year: int, exp_month: int, now: datetime) -> bool:
    """Past its expiry month."""
    return month_index(exp_year, exp_month) < month_index(now.year, now.month)


def notice_window(now: datetime) -> tuple[int, int]:
    """The expiry months (as `month_index`, from included to excluded) of the cards that are
    not expired and whose expiry month ends within EXPIRY_NOTICE of `now`.

    The month ends when the next begins, so it ends by `now + EXPIRY_NOTICE` exactly when
    it comes before that moment's month.
    """
    soon = now + EXPIRY_NOTICE
    return month_index(now.year, now.month), month_index(soon.year, soon.month)


def is_expiring_soon(exp_year: int, exp_month: int, now: datetime) -> bool:
    first, before = notice_window(now)
    return first <= month_index(exp_year, exp_month) < before


def is_earlier_expiry(exp_year: int, exp_month: int, than_year: int, than_month: int) -> bool:
    """An expiry before another: a renewal only ever moves the expiry forward."""
    return month_index(exp_year, exp_month) < month_index(than_year, than_month)

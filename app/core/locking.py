"""Row locks, the one way every repository takes them."""

from typing import Any, TypeVar

from sqlalchemy import Select

# Any SELECT, of one entity or of several columns.
S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def for_update(statement: S, *, skip_locked: bool = False, of: Any = None) -> S:
    """`statement` as SELECT … FOR UPDATE, its rows read afresh (`populate_existing`).

    A copy of the row already in the session, read before the lock was granted, would
    otherwise be handed back unchanged: a check made under the lock ("still a draft?") would
    see what was true before the transaction it waited for committed.
    """
    return statement.with_for_update(skip_locked=skip_locked, of=of).execution_options(
        populate_existing=True
    )

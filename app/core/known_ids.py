"""Ids this process knows to exist, so that most requests skip an upsert (of their account)."""

from collections import OrderedDict


class KnownIds:
    """A bounded memo of ids whose row is committed, for rows that are never deleted.

    Accounts are never deleted, so "this account exists" never goes stale: the memo is a
    fact read from the database, not state shared between processes, and every replica may
    hold a different part of it. Ids are added only after the transaction that created or
    found the row has committed, so a rolled-back creation is never trusted.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, row_id: object) -> bool:
        if not isinstance(row_id, str) or row_id not in self._ids:
            return False
        self._ids.move_to_end(row_id)
        return True

    def add(self, row_id: str) -> None:
        self._ids[row_id] = None
        self._ids.move_to_end(row_id)
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

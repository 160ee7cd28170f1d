from app.core.errors import BillingError, Conflict, NotFound


class CardNotFound(NotFound, code="card_not_found", title="Card not found"): ...


class CardAlreadyAdded(Conflict, code="card_already_added", title="Card already added"): ...


class CardLimitReached(Conflict, code="card_limit_reached", title="Card limit reached"): ...


class CardExpired(Conflict, code="card_expired", title="Card expired"): ...


class PrimaryCardCannotBeDeleted(
    Conflict, code="primary_card_cannot_be_deleted", title="Primary card cannot be deleted"
): ...


class SetupIntentNotFound(
    NotFound, code="setup_intent_not_found", title="Setup intent not found"
): ...


class SetupIntentIncomplete(
    Conflict, code="setup_intent_incomplete", title="Setup intent incomplete"
): ...


class CardAddRateLimited(BillingError, status=429, code="rate_limited", title="Rate limited"):
    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(detail)

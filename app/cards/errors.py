from app.core.errors import BillingError, Conflict, NotFound


class CardNotFound(NotFound, code="card_not_found"): ...


class CardAlreadyAdded(Conflict, code="card_already_added"): ...


class CardLimitReached(Conflict, code="card_limit_reached"): ...


class CardExpired(Conflict, code="card_expired"): ...


class PrimaryCardCannotBeDeleted(Conflict, code="primary_card_cannot_be_deleted"): ...


class SetupIntentNotFound(NotFound, code="setup_intent_not_found"): ...


class SetupIntentIncomplete(Conflict, code="setup_intent_incomplete"): ...


class CardAddRateLimited(BillingError, status=429, code="rate_limited"):
    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(detail)

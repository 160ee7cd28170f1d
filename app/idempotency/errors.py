from app.core.errors import BillingError, Conflict, FieldProblem, ValidationFailed


class IdempotencyKeyInUse(Conflict, code="idempotency_key_in_use"): ...


class IdempotencyKeyReused(BillingError, status=422, code="idempotency_key_reused"): ...


def invalid_key() -> ValidationFailed:
    return ValidationFailed(
        [
            FieldProblem(
                field="Idempotency-Key",
                message="Must be 1 to 255 printable ASCII characters.",
                type="invalid",
            )
        ]
    )

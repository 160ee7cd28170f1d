"""The bounds of an invoice's amounts: one home for the ceiling the request schemas declare
(each line, the tax) and the rules the service checks on the sums (subtotal, total)."""

from app.core.errors import FieldProblem

# Stripe's ceiling for one amount, in minor units.
MAX_AMOUNT = 99_999_999


def amount_problems(subtotal: int, total: int) -> list[FieldProblem]:
    """What is wrong with an invoice's sums: lines adding up to less than zero, or a total
    over the ceiling. Empty when both are fine."""
    problems = []
    if subtotal < 0:
        problems.append(
            FieldProblem(
                field="lines", message="The lines add up to less than zero.", type="invalid"
            )
        )
    if total > MAX_AMOUNT:
        problems.append(
            FieldProblem(
                field="lines",
                message=f"The total exceeds {MAX_AMOUNT} minor units.",
                type="invalid",
            )
        )
    return problems

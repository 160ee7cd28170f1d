from typing import Any

from pydantic import Field

from app.core.errors import BillingError, Conflict, NotFound, Problem
from app.invoices.schemas import NextAction


class InvoiceNotFound(NotFound, code="invoice_not_found"): ...


class InvoiceNotFinalized(Conflict, code="invoice_not_finalized"): ...


class InvoiceNotDraft(Conflict, code="invoice_not_draft", title="Invoice is not a draft"): ...


class InvoiceNotVoidable(
    Conflict, code="invoice_not_voidable", title="Invoice cannot be voided"
): ...


class InvoiceNotOpen(
    Conflict, code="invoice_not_open", title="Invoice is not awaiting payment"
): ...


class InvoiceNotPayable(Conflict, code="invoice_not_payable", title="Invoice cannot be paid"): ...


class NoPaymentMethod(Conflict, code="no_payment_method"): ...


class AuthenticationProblem(Problem):
    """A problem document that can carry the challenge the frontend must run."""

    next_action: NextAction | None = Field(
        default=None,
        description="With `authentication_required`: the cardholder's challenge to run.",
    )


class AuthenticationRequired(
    BillingError, status=402, code="authentication_required", title="Payment needs authentication"
):
    """The bank asks the cardholder to authenticate the charge (3-D Secure): 402, with the
    challenge the frontend runs in the problem's `next_action`."""

    problem_model = AuthenticationProblem

    def __init__(self, next_action: NextAction, detail: str) -> None:
        self.next_action = next_action
        super().__init__(detail)

    def extensions(self) -> dict[str, Any]:
        return {"next_action": self.next_action.model_dump()}

from app.core.errors import Conflict, NotFound


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    title = "Invoice not found"


class InvoiceNotFinalized(Conflict):
    code = "invoice_not_finalized"
    title = "Invoice not finalized"


class InvoiceNotDraft(Conflict):
    code = "invoice_not_draft"
    title = "Invoice is not a draft"


class InvoiceNotVoidable(Conflict):
    code = "invoice_not_voidable"
    title = "Invoice cannot be voided"


class InvoiceNotOpen(Conflict):
    code = "invoice_not_open"
    title = "Invoice is not awaiting payment"


class InvoiceNotPayable(Conflict):
    code = "invoice_not_payable"
    title = "Invoice cannot be paid"


class NoPaymentMethod(Conflict):
    code = "no_payment_method"
    title = "No payment method"

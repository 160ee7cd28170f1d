from app.core.errors import Conflict


class BillingDetailsIncomplete(Conflict, code="billing_details_incomplete"): ...

"""The Stripe provider: the provider interface on Stripe's API, through the official SDK.

One client per process, shared by every request: it holds no per-request state. Stripe's
errors become the contract's: card errors on attach are the 402 declines, a payment method
Stripe does not know is 404 `payment_method_not_found`, timeouts and connection failures are
503 `payment_provider_unavailable`, and anything else Stripe refuses is 502
`payment_provider_error`. A declined charge is a result, not an error.
"""

from collections.abc import Awaitable
from typing import TypeVar

import stripe
from stdnum.eu import vat

from app.core.config import Settings
from app.core.request_context import current_idempotency_key
from app.payments.errors import AUTHENTICATION_REQUIRED, PaymentMethodNotFound
from app.payments.provider import (
    ChargeRequest,
    ChargeResult,
    CustomerDetails,
    PaymentMethodInfo,
    PaymentState,
    SetupIntentInfo,
)
from app.payments.stripe.errors import card_error_code, failure_code, is_missing, log, translated
from app.payments.stripe.intents import payment_state, setup_intent_info

# Pinned so that a Stripe account's dashboard setting can never change the shapes we parse;
# it is the version the installed SDK's types describe.
STRIPE_API_VERSION = "2026-10-28.endive"
# Stripe's recommended value. The SDK retries only connection errors, 409s and 5xx, and sends
# an idempotency key with every POST, so a retry never repeats an effect.
MAX_NETWORK_RETRIES = 2

T = TypeVar("T")


def _info(method: stripe.PaymentMethod) -> PaymentMethodInfo:
    card = method.card
    if method.type != "card" or card is None:
        raise PaymentMethodNotFound(f"Payment method {method.id} is not a card.")
    return PaymentMethodInfo(
        provider_id=method.id,
        # Stripe gives every card a fingerprint; the id keeps a card without one addable.
        fingerprint=card.fingerprint or method.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
    )


def _keyed(operation: str) -> stripe.RequestOptions:
    """Stripe's idempotency key for one call of the request, derived from its Idempotency-Key.

    A retry of a request that failed (a 5xx is not kept, so it runs again) makes the same
    calls with the same keys, and Stripe answers them with their first results instead of a
    second effect. Without an Idempotency-Key the SDK makes a key per call (its own network
    retries reuse it). Charges and customers have keys of their own, derived from what we
    committed, which any re-run (a request's or the collector's) computes again.
    """
    key = current_idempotency_key()
    return {"idempotency_key": f"{key}:{operation}"} if key is not None else {}


def _customer_id(method: stripe.PaymentMethod) -> str | None:
    customer = method.customer
    if customer is None or isinstance(customer, str):
        return customer
    return customer.id


async def _unless_missing(request: Awaitable[T]) -> T | None:
    """What Stripe answers, or None if it has no such object."""
    try:
        return await request
    except stripe.InvalidRequestError as exc:
        if is_missing(exc):
            return None
        raise


class StripeProvider:
    def __init__(self, settings: Settings) -> None:
        if settings.stripe_api_key is None:
            raise ValueError("BILLING_STRIPE_API_KEY is required for the stripe provider")
        self._http = stripe.HTTPXClient(timeout=settings.stripe_timeout_seconds)
        self._client = stripe.StripeClient(
            settings.stripe_api_key.get_secret_value(),
            http_client=self._http,
            stripe_version=STRIPE_API_VERSION,
            base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
            max_network_retries=MAX_NETWORK_RETRIES,
        )

    async def aclose(self) -> None:
        # The SDK leaves this one method unannotated.
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def create_customer(self, account_id: str) -> str:
        with translated("create a customer"):
            customer = await self._client.v1.customers.create_async(
                {"metadata": {"account_id": account_id}},
                # If our transaction rolls back after Stripe made the customer, the next
                # attempt (within Stripe's 24 hours) gets that same customer back instead of
                # a second one.
                {"idempotency_key": f"billing-customer-{account_id}"},
            )
        return customer.id

    async def update_customer(self, customer_id: str, details: CustomerDetails) -> None:
        with translated("update the customer"):
            await self._client.v1.customers.update_async(
                customer_id,
                {
                    "name": details.name,
                    "email": details.email,
                    # An empty string clears a field at Stripe; None would leave it as it was.
                    "address": {
                        "line1": details.line1,
                        "line2": details.line2 or "",
                        "city": details.city,
                        "postal_code": details.postal_code,
                        "state": details.state or "",
                        "country": details.country,
                    },
                },
                _keyed("customer"),
            )
            # Stripe's `eu_vat` tax id type only takes EU VAT numbers; elsewhere the VAT id
            # is free text that Stripe would refuse, so it stays ours alone.
            eu_vat = details.vat_id if details.country.lower() in vat.MEMBER_STATES else None
            await self._replace_tax_ids(customer_id, eu_vat)

    async def _replace_tax_ids(self, customer_id: str, eu_vat: str | None) -> None:
        """Leave the customer with exactly the VAT id we hold: the new one is added first."""
        taxes = self._client.v1.customers.tax_ids
        # Stripe's default page of 10 covers it (we never keep more than one tax id); no
        # `limit` either, which localstripe would refuse.
        existing = (await taxes.list_async(customer_id)).data
        keep = next((t for t in existing if t.type == "eu_vat" and t.value == eu_vat), None)
        if eu_vat is not None and keep is None:
            await taxes.create_async(
                customer_id, {"type": "eu_vat", "value": eu_vat}, _keyed("tax-id")
            )
        for tax_id in existing:
            if tax_id is not keep:
                await taxes.delete_async(customer_id, tax_id.id)

    async def retrieve_payment_method(self, payment_method_id: str) -> PaymentMethodInfo:
        with translated("read the payment method", payment_method=payment_method_id):
            method = await self._client.v1.payment_methods.retrieve_async(payment_method_id)
        if _customer_id(method) is not None:
            # Already some customer's card: Stripe would refuse to attach it to another, and
            # another account's card must look exactly like a missing one.
            raise PaymentMethodNotFound(f"No payment method {payment_method_id}.")
        return _info(method)

    async def attach_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> PaymentMethodInfo:
        with translated(
            "attach the payment method", payment_method=payment_method_id, declines=True
        ):
            method = await self._client.v1.payment_methods.attach_async(
                payment_method_id, {"customer": customer_id}, _keyed(f"attach:{payment_method_id}")
            )
        return _info(method)

    async def detach_payment_method(self, payment_method_id: str) -> None:
        with translated("detach the payment method"):
            try:
                await self._client.v1.payment_methods.detach_async(
                    payment_method_id, options=_keyed(f"detach:{payment_method_id}")
                )
            except stripe.InvalidRequestError:
                # Stripe refuses to detach what is not attached: if that is why, the card is
                # already gone there, which is all we asked for.
                if not await self._is_detached(payment_method_id):
                    raise

    async def _is_detached(self, payment_method_id: str) -> bool:
        retrieve = self._client.v1.payment_methods.retrieve_async
        method = await _unless_missing(retrieve(payment_method_id))
        return method is None or _customer_id(method) is None

    async def set_default_payment_method(self, customer_id: str, payment_method_id: str) -> None:
        with translated("set the default payment method"):
            await self._client.v1.customers.update_async(
                customer_id,
                {"invoice_settings": {"default_payment_method": payment_method_id}},
                _keyed(f"default:{payment_method_id}"),
            )

    async def list_payment_methods(self, customer_id: str) -> list[PaymentMethodInfo]:
        methods: list[PaymentMethodInfo] = []
        with translated("list the customer's payment methods"):
            page = await self._client.v1.payment_methods.list_async(
                {"customer": customer_id, "type": "card", "limit": 100}
            )
            async for method in page.auto_paging_iter():
                methods.append(_info(method))
        return methods

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        with translated("charge the card"):
            try:
                intent = await self._client.v1.payment_intents.create_async(
                    {
                        "amount": request.amount,
                        "currency": request.currency,
                        "customer": request.customer_id,
                        "payment_method": request.payment_method_id,
                        "confirm": True,
                        "off_session": True,
                        "metadata": dict(request.metadata),
                    },
                    {"idempotency_key": request.idempotency_key},
                )
            except stripe.CardError as exc:
                log("charge the card", exc)
                failed = exc.error.payment_intent if exc.error is not None else None
                code = failure_code(card_error_code(exc))
                if code == AUTHENTICATION_REQUIRED and failed is not None:
                    return await self._await_cardholder(failed.id, request)
                return ChargeResult(
                    succeeded=False,
                    provider_payment_id=failed.id if failed is not None else None,
                    decline_code=code,
                )
        return ChargeResult.of(payment_state(intent))

    async def _await_cardholder(self, intent_id: str, request: ChargeRequest) -> ChargeResult:
        """Stripe refused an off-session payment for want of the cardholder and took the card
        off its PaymentIntent. The card is put back, so that the frontend's
        `confirmCardPayment(client_secret)` alone runs the challenge and pays."""
        with translated("prepare the payment for authentication"):
            intent = await self._client.v1.payment_intents.update_async(
                intent_id,
                {"payment_method": request.payment_method_id},
                {"idempotency_key": f"{request.idempotency_key}-await-cardholder"},
            )
        return ChargeResult(
            succeeded=False,
            provider_payment_id=intent.id,
            decline_code=AUTHENTICATION_REQUIRED,
            client_secret=intent.client_secret,
        )

    async def retrieve_payment(self, provider_payment_id: str) -> PaymentState:
        with translated("read the payment"):
            intent = await self._client.v1.payment_intents.retrieve_async(provider_payment_id)
        return payment_state(intent)

    async def cancel_payment(self, provider_payment_id: str) -> PaymentState:
        with translated("withdraw the payment"):
            try:
                intent = await self._client.v1.payment_intents.cancel_async(
                    provider_payment_id, options=_keyed(f"cancel:{provider_payment_id}")
                )
            except stripe.InvalidRequestError:
                # Stripe refuses to cancel a payment that is over (succeeded, or canceled
                # already): its state is the answer.
                intent = await self._client.v1.payment_intents.retrieve_async(provider_payment_id)
        return payment_state(intent)

    async def create_setup_intent(self, customer_id: str) -> SetupIntentInfo:
        with translated("create a setup intent"):
            intent = await self._client.v1.setup_intents.create_async(
                {"customer": customer_id, "usage": "off_session"},
                _keyed("setup-intent"),
            )
        return setup_intent_info(intent)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentInfo | None:
        with translated("read the setup intent"):
            retrieve = self._client.v1.setup_intents.retrieve_async
            intent = await _unless_missing(retrieve(setup_intent_id))
        return setup_intent_info(intent) if intent is not None else None

    async def saved_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> PaymentMethodInfo:
        with translated("read the payment method", payment_method=payment_method_id):
            method = await self._client.v1.payment_methods.retrieve_async(payment_method_id)
        owner = _customer_id(method)
        if owner is None:
            # Stripe attaches it when the setup intent succeeds; localstripe does not, and
            # `billing stripe-sync` may have detached it before the card was added here.
            return await self.attach_payment_method(customer_id, payment_method_id)
        if owner != customer_id:
            raise PaymentMethodNotFound(f"No payment method {payment_method_id}.")
        return _info(method)

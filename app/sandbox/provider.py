"""The built-in offline provider: Stripe's test-card behaviour, kept in our own database.

Its records share the request's transaction, so a sandbox "charge" is rolled back with
everything else when a request fails, like a charge that never happened.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import Clock
from app.core.config import Settings
from app.core.ids import new_id
from app.core.lookup import found
from app.models import SandboxCharge, SandboxChargeStatus, SandboxPaymentMethod
from app.payments.card_expiry import is_expired
from app.payments.errors import (
    AUTHENTICATION_REQUIRED,
    CardDeclined,
    PaymentMethodNotFound,
    PaymentProviderError,
)
from app.payments.provider import (
    ChargeRequest,
    ChargeResult,
    CustomerDetails,
    PaymentMethodInfo,
    PaymentState,
    PaymentStatus,
    SetupIntentInfo,
    card_facts,
)
from app.sandbox import intents, repository
from app.sandbox import service as sandbox
from app.sandbox.testcards import NAMED_TOKENS


def _info(method: SandboxPaymentMethod) -> PaymentMethodInfo:
    return PaymentMethodInfo(
        provider_id=method.id, fingerprint=method.fingerprint, **card_facts(method)
    )


_PAYMENT_STATUSES = {
    SandboxChargeStatus.SUCCEEDED: PaymentStatus.SUCCEEDED,
    SandboxChargeStatus.REQUIRES_ACTION: PaymentStatus.REQUIRES_ACTION,
    SandboxChargeStatus.FAILED: PaymentStatus.FAILED,
    SandboxChargeStatus.CANCELED: PaymentStatus.FAILED,
}


def _state(charge: SandboxCharge) -> PaymentState:
    status = _PAYMENT_STATUSES[SandboxChargeStatus(charge.status)]
    return PaymentState(
        provider_payment_id=charge.id,
        status=status,
        failure_code=charge.decline_code,
        client_secret=charge.client_secret if status is PaymentStatus.REQUIRES_ACTION else None,
    )


class SandboxProvider:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock

    async def _method(self, payment_method_id: str) -> SandboxPaymentMethod:
        method = await repository.get_payment_method(self._session, payment_method_id)
        return found(method, PaymentMethodNotFound, f"No payment method {payment_method_id}.")

    async def _usable(
        self, payment_method_id: str, customer_id: str | None
    ) -> SandboxPaymentMethod:
        """The payment method, if it is no customer's or `customer_id`'s: as at Stripe,
        another customer's card is exactly as missing as an unknown one."""
        method = await self._method(payment_method_id)
        if method.customer_id not in (None, customer_id):
            raise PaymentMethodNotFound(f"No payment method {payment_method_id}.")
        return method

    async def _attach(self, method: SandboxPaymentMethod, customer_id: str) -> PaymentMethodInfo:
        method.customer_id = customer_id
        await self._session.flush()
        return _info(method)

    async def create_customer(self, account_id: str) -> str:
        return new_id("cus")

    async def update_customer(self, customer_id: str, details: CustomerDetails) -> None:
        # The sandbox keeps no customer records: the billing details in our own database are
        # all there is, so there is nothing to sync.
        return None

    async def retrieve_payment_method(self, payment_method_id: str) -> PaymentMethodInfo:
        number = NAMED_TOKENS.get(payment_method_id)
        if number is not None:
            # As on Stripe, each use of a named test token makes a fresh payment method.
            method = await sandbox.create_from_named_token(
                self._session, self._settings, self._clock.now(), number
            )
            return _info(method)
        return _info(await self._usable(payment_method_id, None))

    async def attach_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> PaymentMethodInfo:
        method = await self._usable(payment_method_id, customer_id)
        if method.attach_decline_code is not None:
            raise CardDeclined(method.attach_decline_code)
        return await self._attach(method, customer_id)

    async def detach_payment_method(self, payment_method_id: str) -> None:
        method = await repository.get_payment_method(self._session, payment_method_id)
        if method is not None:
            method.customer_id = None
            await self._session.flush()

    async def set_default_payment_method(self, customer_id: str, payment_method_id: str) -> None:
        # The default card is the primary card in our own database; nothing else to record.
        return None

    async def list_payment_methods(self, customer_id: str) -> list[PaymentMethodInfo]:
        methods = await repository.list_customer_methods(self._session, customer_id)
        return [_info(method) for method in methods]

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        previous = await repository.get_charge(self._session, request.idempotency_key)
        if previous is not None:
            return ChargeResult.of(_state(previous))
        method = await self._method(request.payment_method_id)
        now = self._clock.now()
        charge_id = new_id("pi")
        decline_code = method.charge_decline_code
        if decline_code is None and is_expired(method.exp_year, method.exp_month, now):
            decline_code = "expired_card"
        status = (
            SandboxChargeStatus.SUCCEEDED if decline_code is None else SandboxChargeStatus.FAILED
        )
        if decline_code is None and intents.needs_authentication(method):
            status = SandboxChargeStatus.REQUIRES_ACTION
            decline_code = AUTHENTICATION_REQUIRED
        charge = SandboxCharge(
            idempotency_key=request.idempotency_key,
            id=charge_id,
            payment_method_id=method.id,
            amount=request.amount,
            currency=request.currency,
            decline_code=decline_code,
            status=status,
            client_secret=intents.client_secret(charge_id),
            customer_id=request.customer_id,
            invoice_id=request.metadata.get("invoice_id"),
            created_at=now,
        )
        await repository.add_charge(self._session, charge)
        return ChargeResult.of(_state(charge))

    async def _charge(self, provider_payment_id: str) -> SandboxCharge:
        charge = await repository.lock_charge(self._session, provider_payment_id)
        if charge is None:
            raise PaymentProviderError(f"The sandbox has no payment {provider_payment_id}.")
        return charge

    async def retrieve_payment(self, provider_payment_id: str) -> PaymentState:
        return _state(await self._charge(provider_payment_id))

    async def cancel_payment(self, provider_payment_id: str) -> PaymentState:
        charge = await self._charge(provider_payment_id)
        if charge.status == SandboxChargeStatus.REQUIRES_ACTION:
            charge.status = SandboxChargeStatus.CANCELED
            charge.decline_code = None
            await self._session.flush()
        return _state(charge)

    async def create_setup_intent(self, customer_id: str) -> SetupIntentInfo:
        intent = await intents.create_setup_intent(self._session, customer_id, self._clock.now())
        return intents.info(intent)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentInfo | None:
        intent = await repository.get_setup_intent(self._session, setup_intent_id)
        return intents.info(intent) if intent is not None else None

    async def saved_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> PaymentMethodInfo:
        # A succeeded setup intent saved it: attached, with no second check at the bank.
        return await self._attach(await self._usable(payment_method_id, customer_id), customer_id)

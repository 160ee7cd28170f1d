from fastapi import status

from app.accounts.dependencies import CurrentAccount
from app.cards.errors import SetupIntentNotFound
from app.cards.schemas import SetupIntent
from app.core.auth import AUTH_ERRORS
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.openapi import error_responses
from app.core.routing import BillingRouter
from app.core.runtime import ClockDep, SettingsDep
from app.payments.errors import CardDeclined, PaymentMethodNotFound
from app.sandbox import intents, payment_challenges, service
from app.sandbox.errors import (
    PaymentIntentNotFound,
    PaymentIntentUnexpectedState,
    SetupIntentUnexpectedState,
)
from app.sandbox.schemas import (
    SandboxChallenge,
    SandboxPaymentIntent,
    SandboxPaymentMethod,
    SandboxPaymentMethodCreate,
    SandboxSetupConfirm,
)

router = BillingRouter(prefix="/v1/sandbox", tags=["sandbox"])


@router.post(
    "/payment-methods",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(*AUTH_ERRORS, NotFound),
)
async def create_sandbox_payment_method(
    body: SandboxPaymentMethodCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    _account: CurrentAccount,
) -> SandboxPaymentMethod:
    """Make a test payment method (sandbox provider only)

    Turns a test card into a `pm_…` token to pass to `POST /v1/cards`, as Stripe.js does in
    production. Stripe's test numbers behave as on Stripe. 404 in Stripe mode.
    """
    method = await service.create_payment_method(session, settings, clock.now(), body)
    return SandboxPaymentMethod.model_validate(method)


@router.post(
    "/setup-intents/{setup_intent_id}/confirm",
    responses=error_responses(
        *AUTH_ERRORS,
        SetupIntentNotFound,
        PaymentMethodNotFound,
        SetupIntentUnexpectedState,
        CardDeclined,
        NotFound,
    ),
)
async def confirm_sandbox_setup_intent(
    setup_intent_id: str,
    body: SandboxSetupConfirm,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    account_id: CurrentAccount,
) -> SetupIntent:
    """Confirm a setup intent with a test card (sandbox provider only)

    What Stripe.js's `confirmCardSetup` does: the card (typed in, or a `pm_…` token) is checked.
    The intent `succeeded`, or is `requires_action` when the card asks for 3-D Secure
    (`4000002500003155`, `4000002760003184`); declines answer 402 as when adding a card. 404 in
    Stripe mode.
    """
    intent = await intents.owned_setup_intent(session, account_id, setup_intent_id)
    now = clock.now()
    if body.payment_method is not None:
        method = await service.payment_method_for_token(session, settings, now, body.payment_method)
    else:
        method = await service.create_payment_method(session, settings, now, body.card())
    confirmed = await intents.confirm_setup_intent(session, intent, method)
    return SetupIntent.build(intents.info(confirmed))


@router.post(
    "/setup-intents/{setup_intent_id}/authenticate",
    responses=error_responses(
        *AUTH_ERRORS, SetupIntentNotFound, SetupIntentUnexpectedState, NotFound
    ),
)
async def authenticate_sandbox_setup_intent(
    setup_intent_id: str,
    body: SandboxChallenge,
    session: SessionDep,
    account_id: CurrentAccount,
) -> SetupIntent:
    """Answer the bank's challenge for saving a card (sandbox provider only)

    The cardholder passes (`succeeded`) or fails (`requires_payment_method`, `last_error:
    authentication_failed`) the 3-D Secure challenge of a `requires_action` setup intent. 404 in
    Stripe mode.
    """
    intent = await intents.owned_setup_intent(session, account_id, setup_intent_id)
    answered = await intents.authenticate_setup_intent(session, intent, success=body.success)
    return SetupIntent.build(intents.info(answered))


@router.post(
    "/payment-intents/{payment_intent_id}/authenticate",
    responses=error_responses(
        *AUTH_ERRORS, PaymentIntentNotFound, PaymentIntentUnexpectedState, NotFound
    ),
)
async def authenticate_sandbox_payment(
    payment_intent_id: str,
    body: SandboxChallenge,
    session: SessionDep,
    clock: ClockDep,
    account_id: CurrentAccount,
) -> SandboxPaymentIntent:
    """Answer the bank's challenge for a charge (sandbox provider only)

    For an invoice whose `next_action` asks for authentication: the cardholder passes (the
    invoice is paid) or fails (`failure_reason: authentication_failed`) the challenge, as
    Stripe.js's `confirmCardPayment` and Stripe's webhook would. 404 in Stripe mode.
    """
    charge = await payment_challenges.authenticate_payment(
        session, account_id, payment_intent_id, success=body.success, now=clock.now()
    )
    return SandboxPaymentIntent.build(charge)

from fastapi import APIRouter, status

from app.accounts.dependencies import CurrentAccount
from app.core.auth import AUTH_ERRORS
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.openapi import error_responses
from app.core.runtime import ClockDep, SettingsDep
from app.sandbox import service
from app.sandbox.schemas import SandboxPaymentMethod, SandboxPaymentMethodCreate

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])


@router.post(
    "/payment-methods",
    name="create_sandbox_payment_method",
    status_code=status.HTTP_201_CREATED,
    summary="Make a test payment method (sandbox provider only)",
    description=(
        "Turns a test card into a `pm_…` token to pass to `POST /v1/cards`, as Stripe.js does "
        "in production. Stripe's test numbers behave as on Stripe. 404 in Stripe mode."
    ),
    responses=error_responses(*AUTH_ERRORS, NotFound),
)
async def create_payment_method(
    body: SandboxPaymentMethodCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    _account: CurrentAccount,
) -> SandboxPaymentMethod:
    method = await service.create_payment_method(
        session,
        settings,
        clock.now(),
        number=body.number,
        exp_month=body.exp_month,
        exp_year=body.exp_year,
        cvc=body.cvc,
    )
    return SandboxPaymentMethod.model_validate(method)

"""Sandbox payment methods: what Stripe.js does in production, done offline for development.

A card number is checked and reduced to its public facts at once; the number and CVC are
never stored or logged. The fingerprint is an HMAC keyed with the service's secret, so it
identifies a card without being reversible from the database alone.
"""

import hashlib
import hmac
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import FieldProblem, ValidationFailed
from app.core.ids import new_id
from app.core.lookup import found
from app.models import SandboxPaymentMethod
from app.payments.card_expiry import is_expired
from app.payments.errors import PaymentMethodNotFound
from app.sandbox import repository
from app.sandbox.schemas import SandboxPaymentMethodCreate
from app.sandbox.testcards import (
    NAMED_TOKENS,
    behaviour_of,
    brand_of,
    cvc_length,
    is_valid_number,
)

# Named test tokens stand for a card that is valid for a few more years, as on Stripe.
NAMED_TOKEN_VALID_YEARS = 3


def fingerprint(settings: Settings, number: str) -> str:
    digest = hmac.new(settings.jwt_key.encode(), number.encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def _check(
    number: str, exp_month: int, exp_year: int, cvc: str, now: datetime
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if not is_valid_number(number):
        problems.append(
            FieldProblem(
                field="number", message="The card number is not valid.", type="invalid_number"
            )
        )
    if not 1 <= exp_month <= 12:
        problems.append(
            FieldProblem(
                field="exp_month", message="Must be a month, 1 to 12.", type="invalid_expiry_month"
            )
        )
    elif is_expired(exp_year, exp_month, now):
        problems.append(
            FieldProblem(
                field="exp_year", message="The card has expired.", type="invalid_expiry_year"
            )
        )
    if exp_year > now.year + 50:
        problems.append(
            FieldProblem(
                field="exp_year",
                message="The expiry year is too far ahead.",
                type="invalid_expiry_year",
            )
        )
    expected = cvc_length(brand_of(number))
    if not (cvc.isdigit() and len(cvc) == expected):
        problems.append(
            FieldProblem(
                field="cvc", message=f"The CVC must be {expected} digits.", type="invalid_cvc"
            )
        )
    return problems


async def create_payment_method(
    session: AsyncSession, settings: Settings, now: datetime, card: SandboxPaymentMethodCreate
) -> SandboxPaymentMethod:
    """A payment method for a test card typed in; refused (422) as Stripe.js would refuse it."""
    number = card.number.replace(" ", "").replace("-", "")
    exp_year = card.exp_year + 2000 if card.exp_year < 100 else card.exp_year
    problems = _check(number, card.exp_month, exp_year, card.cvc, now)
    if problems:
        raise ValidationFailed(problems)
    return await _store(session, settings, now, number, card.exp_month, exp_year)


async def payment_method_for_token(
    session: AsyncSession, settings: Settings, now: datetime, token: str
) -> SandboxPaymentMethod:
    """A payment method by id, or a fresh one for a Stripe named test token."""
    number = NAMED_TOKENS.get(token)
    if number is not None:
        return await create_from_named_token(session, settings, now, number)
    method = await repository.get_payment_method(session, token)
    return found(method, PaymentMethodNotFound, f"No payment method {token}.")


async def create_from_named_token(
    session: AsyncSession, settings: Settings, now: datetime, number: str
) -> SandboxPaymentMethod:
    return await _store(session, settings, now, number, 12, now.year + NAMED_TOKEN_VALID_YEARS)


async def _store(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    number: str,
    exp_month: int,
    exp_year: int,
) -> SandboxPaymentMethod:
    behaviour = behaviour_of(number)
    method = SandboxPaymentMethod(
        id=new_id("pm"),
        brand=brand_of(number),
        last4=number[-4:],
        exp_month=exp_month,
        exp_year=exp_year,
        fingerprint=fingerprint(settings, number),
        attach_decline_code=behaviour.attach_decline_code,
        charge_decline_code=behaviour.charge_decline_code,
        authentication=behaviour.authentication,
        created_at=now,
    )
    await repository.add_payment_method(session, method)
    return method

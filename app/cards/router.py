"""HTTP for cards: translate requests into one service call each."""

from fastapi import APIRouter, Response, status

from app.accounts.dependencies import CurrentAccount
from app.cards import service
from app.cards.errors import (
    CardAlreadyAdded,
    CardExpired,
    CardLimitReached,
    CardNotFound,
    PrimaryCardCannotBeDeleted,
)
from app.cards.schemas import Card, CardCreate, CardList
from app.core.auth import AUTH_ERRORS
from app.core.db import SessionDep
from app.core.openapi import error_responses
from app.core.runtime import ClockDep, SettingsDep
from app.payments.dependencies import ProviderDep
from app.payments.errors import PROVIDER_ERRORS, CardDeclined, PaymentMethodNotFound

router = APIRouter(prefix="/v1/cards", tags=["cards"])


@router.get(
    "",
    name="list_cards",
    summary="List the account's cards",
    description="Primary card first, then newest first. An account has at most 10 cards.",
    responses=error_responses(*AUTH_ERRORS),
)
async def list_cards(session: SessionDep, account_id: CurrentAccount, clock: ClockDep) -> CardList:
    cards = await service.list_cards(session, account_id)
    now = clock.now()
    return CardList(
        data=[Card.build(card, now) for card in cards], has_more=False, next_cursor=None
    )


@router.post(
    "",
    name="create_card",
    status_code=status.HTTP_201_CREATED,
    summary="Add a card",
    description=(
        "Adds a card from a provider payment-method token. The account's first card becomes "
        "its primary card (and its `payment_due` invoices are charged to it at once). "
        "Declined cards answer 402 with the decline code."
    ),
    responses=error_responses(
        *AUTH_ERRORS,
        CardDeclined,
        PaymentMethodNotFound,
        CardAlreadyAdded,
        CardLimitReached,
        *PROVIDER_ERRORS,
    ),
)
async def create_card(
    body: CardCreate,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Card:
    now = clock.now()
    card = await service.add_card(
        session, provider, account_id, body.payment_method, now, settings.retry_schedule
    )
    return Card.build(card, now)


@router.post(
    "/{card_id}/primary",
    name="set_primary_card",
    summary="Make a card the primary card",
    description=(
        "The card becomes the only primary card (idempotent), and the account's `payment_due` "
        "invoices are charged to it at once; a declined retry is recorded on the invoice."
    ),
    responses=error_responses(*AUTH_ERRORS, CardNotFound, CardExpired, *PROVIDER_ERRORS),
)
async def set_primary_card(
    card_id: str,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Card:
    now = clock.now()
    card = await service.set_primary(
        session, provider, account_id, card_id, now, settings.retry_schedule
    )
    return Card.build(card, now)


@router.delete(
    "/{card_id}",
    name="delete_card",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a card",
    description=(
        "Removed at once (and detached at the provider). The primary card cannot be removed."
    ),
    responses=error_responses(*AUTH_ERRORS, CardNotFound, PrimaryCardCannotBeDeleted),
)
async def delete_card(
    card_id: str,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
) -> Response:
    await service.delete_card(session, provider, account_id, card_id, clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""HTTP for cards: translate requests into one service call each."""

from fastapi import Response, status

from app.accounts.dependencies import CurrentAccount, ReadAccount
from app.cards import service, setup_intents
from app.cards.errors import (
    CardAddRateLimited,
    CardAlreadyAdded,
    CardExpired,
    CardLimitReached,
    CardNotFound,
    PrimaryCardCannotBeDeleted,
    SetupIntentIncomplete,
    SetupIntentNotFound,
)
from app.cards.schemas import Card, CardCreate, CardList, SetupIntent
from app.core.auth import AUTH_ERRORS
from app.core.db import SessionDep
from app.core.openapi import error_responses
from app.core.responses import json_response
from app.core.routing import BillingRouter
from app.core.runtime import ClockDep, SettingsDep
from app.payments.dependencies import ProviderDep
from app.payments.errors import PROVIDER_ERRORS, CardDeclined, PaymentMethodNotFound

router = BillingRouter(prefix="/v1/cards", tags=["cards"])


@router.get(
    "",
    response_model=CardList,
    responses=error_responses(*AUTH_ERRORS),
)
async def list_cards(read: ReadAccount) -> Response:
    """List the account's cards

    Primary card first, then newest first. An account has at most 10 cards.
    """
    cards = await service.list_cards(read.db, read.account_id)
    return json_response(CardList.build(cards, read.now))


@router.post(
    "/setup-intents",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(*AUTH_ERRORS, CardAddRateLimited, *PROVIDER_ERRORS),
)
async def create_setup_intent(
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> SetupIntent:
    """Start saving a card (3-D Secure ready)

    A setup intent on the account's customer, for charges made without the cardholder
    (`usage=off_session` at Stripe). The frontend confirms it with the `client_secret`
    (Stripe.js `confirmCardSetup`, which runs the bank's challenge if it asks for one; sandbox:
    `POST /v1/sandbox/setup-intents/{id}/confirm`), then adds the card with `POST /v1/cards
    {"setup_intent": id}`. Counts towards the card-add limit (429).
    """
    intent = await setup_intents.create_setup_intent(
        session, provider, account_id, clock.now(), settings.card_add_limit
    )
    return SetupIntent.build(intent)


@router.get(
    "/setup-intents/{setup_intent_id}",
    responses=error_responses(*AUTH_ERRORS, SetupIntentNotFound, *PROVIDER_ERRORS),
)
async def get_setup_intent(
    setup_intent_id: str, session: SessionDep, account_id: CurrentAccount, provider: ProviderDep
) -> SetupIntent:
    """Get a setup intent's status

    `requires_payment_method`, `requires_action` (the bank's challenge is waiting), `succeeded`
    (add the card) or `canceled`; `last_error` says why the last confirmation failed.
    """
    intent = await setup_intents.get_setup_intent(session, provider, account_id, setup_intent_id)
    return SetupIntent.build(intent)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": Card, "description": "This setup intent's card was added already."},
        **error_responses(
            *AUTH_ERRORS,
            CardDeclined,
            PaymentMethodNotFound,
            SetupIntentNotFound,
            CardAlreadyAdded,
            CardLimitReached,
            SetupIntentIncomplete,
            CardAddRateLimited,
            *PROVIDER_ERRORS,
        ),
    },
)
async def create_card(
    body: CardCreate,
    response: Response,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Card:
    """Add a card

    Adds the card of a succeeded setup intent (`setup_intent`; the same intent again answers 200
    with the same card), or of a payment-method token for a card that needs no authentication
    (`payment_method`). The account's first card becomes its primary card (and its `payment_due`
    invoices are charged to it at once). Declined cards answer 402 with the decline code. A
    `payment_method` add counts towards the account's card-add limit, declined or not (429
    `rate_limited` with `Retry-After`).
    """
    now = clock.now()
    if body.setup_intent is not None:
        card, added = await setup_intents.add_card_from_setup_intent(
            session, provider, account_id, body.setup_intent, now
        )
        if not added:
            response.status_code = status.HTTP_200_OK
        return Card.build(card, now)
    assert body.payment_method is not None, "CardCreate holds exactly one"
    card = await service.add_card(
        session, provider, account_id, body.payment_method, now, settings.card_add_limit
    )
    return Card.build(card, now)


@router.post(
    "/{card_id}/primary",
    response_model=Card,
    responses=error_responses(*AUTH_ERRORS, CardNotFound, CardExpired, *PROVIDER_ERRORS),
)
async def set_primary_card(
    card_id: str,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
) -> Response:
    """Make a card the primary card

    The card becomes the only primary card (idempotent), and the account's `payment_due`
    invoices are charged to it at once; a declined retry is recorded on the invoice.
    """
    now = clock.now()
    card = await service.set_primary(session, provider, account_id, card_id, now)
    return json_response(Card.build(card, now))


@router.delete(
    "/{card_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*AUTH_ERRORS, CardNotFound, PrimaryCardCannotBeDeleted),
)
async def delete_card(
    card_id: str,
    session: SessionDep,
    account_id: CurrentAccount,
    provider: ProviderDep,
    clock: ClockDep,
) -> Response:
    """Remove a card

    Removed at once (and detached at the provider). The primary card cannot be removed.
    """
    await service.delete_card(session, provider, account_id, card_id, clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)

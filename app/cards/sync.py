"""Reconciliation with the provider: repair what missed webhooks and failed calls left behind.

This is the work behind `billing stripe-sync`. The provider is the truth about which cards
exist and their expiry; we are the truth about which one is primary. Each account is
repaired in a transaction of its own under its row lock, so no card change of the account
runs meanwhile and a payment method attached by an `add_card` still in progress is never
mistaken for a leftover.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts import repository as accounts
from app.cards import repository
from app.cards.service import remove_gone_cards, take_provider_details
from app.core.clock import Clock
from app.core.observability import log_event
from app.models import Card
from app.payments.errors import PROVIDER_ERRORS
from app.payments.provider import PaymentProvider, ProviderFactory

logger = logging.getLogger("billing.sync")


@dataclass
class CardSync:
    account_id: str
    # Cards removed here because the provider no longer has them.
    removed: list[str] = field(default_factory=list)
    # Cards whose expiry or last digits changed at the provider.
    refreshed: list[str] = field(default_factory=list)
    # The card made primary because the primary was removed.
    promoted: str | None = None
    # Payment methods still attached at the provider without a card here, now detached.
    detached: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.refreshed or self.promoted or self.detached)


async def sync_account(
    session: AsyncSession, provider: PaymentProvider, account_id: str, now: datetime
) -> CardSync:
    """Make an account's cards match the provider's payment methods, keeping one primary."""
    result = CardSync(account_id)
    account = await accounts.lock(session, account_id)
    customer_id = account.provider_customer_id
    if customer_id is None:
        return result
    at_provider = {
        method.provider_id: method for method in await provider.list_payment_methods(customer_id)
    }
    gone: list[Card] = []
    for card in await repository.list_for_account(session, account_id):
        method = at_provider.pop(card.provider_payment_method_id, None)
        if method is None:
            gone.append(card)
        elif await take_provider_details(
            session,
            card,
            last4=method.last4,
            exp_month=method.exp_month,
            exp_year=method.exp_year,
        ):
            result.refreshed.append(card.id)
    result.removed = [card.id for card in gone]
    promoted = await remove_gone_cards(session, account_id, gone, now)
    result.promoted = promoted.id if promoted is not None else None
    # What is left there has no card here: an add whose commit failed after the attach, or a
    # removal whose detach failed after the commit. Nobody sees or charges it; detach it.
    for payment_method_id in at_provider:
        await provider.detach_payment_method(payment_method_id)
        result.detached.append(payment_method_id)
    primary = await accounts.primary_card(session, account_id)
    if primary is not None:
        # The provider drops its default when that payment method is detached, and a
        # webhook's promotion never calls out: set it every time, one idempotent call.
        await provider.set_default_payment_method(customer_id, primary.provider_payment_method_id)
    if result.changed:
        log_event(
            session,
            "cards.synced",
            account_id=account_id,
            removed=len(result.removed),
            refreshed=len(result.refreshed),
            detached=len(result.detached),
        )
    return result


@dataclass
class SyncReport:
    synced: list[CardSync] = field(default_factory=list)
    # Accounts the provider could not be asked about, with the reason; left as they were.
    failed: dict[str, str] = field(default_factory=dict)


async def sync_accounts(
    sessionmaker: async_sessionmaker[AsyncSession],
    providers: ProviderFactory,
    clock: Clock,
    only: str | None = None,
) -> SyncReport:
    """Repair every account with a provider customer (or just `only`), one at a time."""
    report = SyncReport()
    async with sessionmaker() as session:
        account_ids = await accounts.with_provider_customer(session, only)
    for account_id in account_ids:
        try:
            async with sessionmaker() as session, session.begin():
                result = await sync_account(session, providers(session), account_id, clock.now())
        except PROVIDER_ERRORS as exc:
            logger.warning("card sync failed", extra={"account_id": account_id, "error": str(exc)})
            report.failed[account_id] = exc.detail
            continue
        report.synced.append(result)
    return report

"""Account-level rules shared by the domains: the provider customer behind an account."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.accounts import repository
from app.accounts.repository import AccountCustomer
from app.payments.provider import PaymentProvider


async def ensure_account(
    db: AsyncSession | AsyncConnection, account_id: str, now: datetime
) -> None:
    """Create the account on its first sight; safe when two first requests race."""
    await repository.ensure(db, account_id, now)


async def ensure_customer(
    session: AsyncSession, provider: PaymentProvider, account: AccountCustomer
) -> str:
    """The account's customer at the provider, created the first time it is needed."""
    if account.provider_customer_id is None:
        customer_id = await provider.create_customer(account.id)
        await repository.set_customer_id(session, account.id, customer_id)
        return customer_id
    return account.provider_customer_id

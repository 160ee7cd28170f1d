"""SQL for billing details: one account default (project_id NULL) and per-project overrides."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import BillingDetails


async def get_default(session: AsyncSession, account_id: str) -> BillingDetails | None:
    result = await session.execute(
        select(BillingDetails).where(
            BillingDetails.account_id == account_id, BillingDetails.project_id.is_(None)
        )
    )
    return result.scalar_one_or_none()


async def get_override(
    session: AsyncSession, account_id: str, project_id: str
) -> BillingDetails | None:
    result = await session.execute(
        select(BillingDetails).where(
            BillingDetails.account_id == account_id, BillingDetails.project_id == project_id
        )
    )
    return result.scalar_one_or_none()


async def get_effective(
    session: AsyncSession, account_id: str, project_id: str
) -> BillingDetails | None:
    """The project's override if it has one, else the account default: one query."""
    result = await session.execute(
        select(BillingDetails)
        .where(
            BillingDetails.account_id == account_id,
            (BillingDetails.project_id == project_id) | BillingDetails.project_id.is_(None),
        )
        .order_by(BillingDetails.project_id.is_(None))
        .limit(1)
    )
    return result.scalar_one_or_none()


async def add(session: AsyncSession, details: BillingDetails) -> None:
    session.add(details)
    await session.flush()


async def save(session: AsyncSession) -> None:
    await session.flush()


async def remove(session: AsyncSession, details: BillingDetails) -> None:
    await session.execute(delete(BillingDetails).where(BillingDetails.id == details.id))
    session.expunge(details)

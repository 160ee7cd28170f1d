"""SQL for the sandbox provider's own records."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.locking import for_update
from app.models import SandboxCharge, SandboxPaymentMethod, SandboxSetupIntent


async def add_payment_method(session: AsyncSession, method: SandboxPaymentMethod) -> None:
    session.add(method)
    await session.flush()


async def get_payment_method(session: AsyncSession, method_id: str) -> SandboxPaymentMethod | None:
    return await session.get(SandboxPaymentMethod, method_id)


async def list_customer_methods(
    session: AsyncSession, customer_id: str
) -> list[SandboxPaymentMethod]:
    result = await session.execute(
        select(SandboxPaymentMethod)
        .where(SandboxPaymentMethod.customer_id == customer_id)
        .order_by(SandboxPaymentMethod.created_at)
    )
    return list(result.scalars())


async def get_charge(session: AsyncSession, idempotency_key: str) -> SandboxCharge | None:
    return await session.get(SandboxCharge, idempotency_key)


async def add_charge(session: AsyncSession, charge: SandboxCharge) -> None:
    session.add(charge)
    await session.flush()


async def get_charge_by_id(session: AsyncSession, charge_id: str) -> SandboxCharge | None:
    result = await session.execute(select(SandboxCharge).where(SandboxCharge.id == charge_id))
    return result.scalar_one_or_none()


async def lock_charge(session: AsyncSession, charge_id: str) -> SandboxCharge | None:
    """A charge by its payment id (`pi_…`), locked and read afresh: its challenge is
    answered once."""
    result = await session.execute(
        for_update(select(SandboxCharge).where(SandboxCharge.id == charge_id))
    )
    return result.scalar_one_or_none()


async def add_setup_intent(session: AsyncSession, intent: SandboxSetupIntent) -> None:
    session.add(intent)
    await session.flush()


async def get_setup_intent(session: AsyncSession, intent_id: str) -> SandboxSetupIntent | None:
    return await session.get(SandboxSetupIntent, intent_id)


async def lock_setup_intent(session: AsyncSession, intent_id: str) -> SandboxSetupIntent | None:
    result = await session.execute(
        for_update(select(SandboxSetupIntent).where(SandboxSetupIntent.id == intent_id))
    )
    return result.scalar_one_or_none()

"""SQL for the sandbox provider's own records."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import SandboxCharge, SandboxPaymentMethod


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

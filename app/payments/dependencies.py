from typing import Annotated

from fastapi import Depends

from app.core.db import SessionDep
from app.core.runtime import RuntimeDep
from app.payments.provider import PaymentProvider


async def get_provider(runtime: RuntimeDep, session: SessionDep) -> PaymentProvider:
    return runtime.providers(session)


ProviderDep = Annotated[PaymentProvider, Depends(get_provider)]

from typing import Annotated

from fastapi import Depends

from app.core.db import SessionDep
from app.core.runtime import RuntimeDep
from app.payments.provider import PaymentProvider, ProviderFactory


async def get_provider(runtime: RuntimeDep, session: SessionDep) -> PaymentProvider:
    # `create_app` builds a `Runtime[PaymentProvider]`; core knows it as `Runtime[Any]`.
    providers: ProviderFactory = runtime.providers
    return providers(session)


ProviderDep = Annotated[PaymentProvider, Depends(get_provider)]

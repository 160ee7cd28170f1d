from typing import Annotated

from fastapi import Depends, Request

from app.core.db import Session
from app.payments.provider import PaymentProvider


async def get_provider(request: Request, session: Session) -> PaymentProvider:
    provider: PaymentProvider = request.app.state.runtime.provider(session)
    return provider


Provider = Annotated[PaymentProvider, Depends(get_provider)]

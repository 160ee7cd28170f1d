"""The caller's account: the dependency every account route starts from."""

from typing import Annotated

from fastapi import Depends

from app.accounts import service
from app.core.auth import Principal, require_account
from app.core.db import SessionDep, after_commit
from app.core.request_context import set_account_id
from app.core.runtime import RuntimeDep


async def get_current_account(
    principal: Annotated[Principal, Depends(require_account)],
    session: SessionDep,
    runtime: RuntimeDep,
) -> str:
    """The caller's account id; the account is created on its first authenticated request."""
    account_id = principal.subject
    known = runtime.known_accounts
    if account_id not in known:
        await service.ensure_account(session, account_id, runtime.clock.now())

        async def remember() -> None:
            known.add(account_id)

        after_commit(session, remember)
    set_account_id(account_id)
    return account_id


CurrentAccount = Annotated[str, Depends(get_current_account)]

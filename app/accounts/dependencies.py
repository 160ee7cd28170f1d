"""The caller's account: the dependency every account route starts from."""

from typing import Annotated

from fastapi import Depends, Request

from app.accounts import service
from app.core.auth import AccountPrincipalDep
from app.core.db import ReadConnDep, SessionDep, after_commit
from app.core.request_context import set_account_id
from app.core.runtime import runtime_of


async def get_current_account(
    principal: AccountPrincipalDep, session: SessionDep, request: Request
) -> str:
    """The caller's account id; the account is created on its first authenticated request."""
    account_id = principal.subject
    runtime = runtime_of(request)
    known = runtime.known_accounts
    if account_id not in known:
        await service.ensure_account(session, account_id, runtime.clock.now())

        async def remember() -> None:
            known.add(account_id)

        after_commit(session, remember)
    set_account_id(account_id)
    return account_id


CurrentAccount = Annotated[str, Depends(get_current_account)]


async def get_read_account(
    principal: AccountPrincipalDep, connection: ReadConnDep, request: Request
) -> str:
    """`CurrentAccount` for the routes that read through `ReadConnDep`, on that connection.

    A known account costs no statement. On its first sight the account is created and
    committed at once: the route reads, so there is no later change to wait for.
    """
    account_id = principal.subject
    runtime = runtime_of(request)
    known = runtime.known_accounts
    if account_id not in known:
        await service.ensure_account(connection, account_id, runtime.clock.now())
        await connection.commit()
        known.add(account_id)
    set_account_id(account_id)
    return account_id


ReadAccount = Annotated[str, Depends(get_read_account)]

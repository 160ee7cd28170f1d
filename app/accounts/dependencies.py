"""The caller's account: the dependency every account route starts from."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from app.accounts import service
from app.core.auth import AccountBearerPrincipal, AccountPrincipalDep, bearer_scheme
from app.core.db import SessionDep, after_commit
from app.core.reads import Reader
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


@dataclass(frozen=True, slots=True)
class AccountRead:
    """What a hot read path starts from: the caller's account, the time the request is
    served at (for what depends on it, such as a card's expiry), and the `Reader` its
    statements run on."""

    account_id: str
    now: datetime
    db: Reader


class AccountReader(AccountBearerPrincipal):
    """`CurrentAccount` for routes that read with SQLAlchemy Core: the account bearer scheme
    itself, which verifies the token, then hands over an `AccountRead`.

    A known account costs no statement; on its first sight the account is created and
    committed at once: the route reads, so there is no later change to wait for. The route
    reads with the `Reader` (no ORM session, no unit of work and, on PostgreSQL, no
    transaction), whose connections are back in the pool before the response is written.
    One dependency for the token, the account, the reader and the clock, and not a
    generator: FastAPI solves each dependency on every request, and a generator's clean-up
    costs more than the rest of it.
    """

    async def __call__(self, request: Request) -> AccountRead:  # type: ignore[override]
        account_id = (await super().__call__(request)).subject
        runtime = runtime_of(request)
        engine = runtime.reader.engine
        known = runtime.known_accounts
        if account_id not in known:
            async with engine.connect() as connection:
                await service.ensure_account(connection, account_id, runtime.clock.now())
                await connection.commit()
            known.add(account_id)
        set_account_id(account_id)
        return AccountRead(account_id, runtime.clock.now(), runtime.reader)


ReadAccount = Annotated[AccountRead, Depends(bearer_scheme(AccountReader))]

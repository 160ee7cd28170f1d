"""Bearer JWT authentication (HS256): who is calling, and the admin scope."""

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, TypeVar

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from app.core.config import Settings
from app.core.errors import Forbidden, Unauthenticated
from app.core.runtime import runtime_of
from app.core.schemas import PLATFORM_ID_PATTERN

ADMIN_SCOPE = "billing:admin"
# What every authenticated route can answer with, for its `responses=`: account routes
# refuse the platform's admin tokens, admin routes every other token.
AUTH_ERRORS = (Unauthenticated, Forbidden)
ADMIN_ERRORS = (Unauthenticated, Forbidden)
_SUBJECT = re.compile(PLATFORM_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    # The token's `exp`, in seconds since the epoch.
    expires_at: float

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes


def issue_token(
    settings: Settings, account_id: str, *, now: datetime, ttl: timedelta, admin: bool = False
) -> str:
    if not _SUBJECT.fullmatch(account_id):
        raise ValueError("account id must be 1-64 characters of [A-Za-z0-9_.:-]")
    claims: dict[str, object] = {"sub": account_id, "iat": now, "exp": now + ttl}
    if admin:
        claims["scope"] = ADMIN_SCOPE
    return jwt.encode(claims, settings.jwt_key, algorithm="HS256")


def decode_token(token: str, key: str) -> Principal:
    """Who the token speaks for, if it is signed with `key` and has not expired."""
    principal = _verified(token, key)
    if principal.expires_at <= time.time():
        raise Unauthenticated("The token has expired.")
    return principal


# A client sends the same token with every request until it expires: its signature and
# claims are checked once, then only its expiry. Bounded like the known-accounts memo; a
# token that fails is never cached, so nothing about a rejection is remembered.
@lru_cache(maxsize=100_000)
def _verified(token: str, key: str) -> Principal:
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(
            "The token is missing, malformed or not signed for this service."
        ) from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
        raise Unauthenticated("The token's sub must be 1-64 characters of [A-Za-z0-9_.:-].")
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise Unauthenticated("The token's scope must be a space-separated string.")
    return Principal(
        subject=subject, scopes=frozenset(scope.split()), expires_at=float(claims["exp"])
    )


class BearerPrincipal(HTTPBearer):
    """FastAPI's HTTP bearer scheme (the OpenAPI document names it as before) that also
    verifies the token: who is calling, in one dependency rather than three solved on every
    request (the scheme, the settings and the runtime they come from)."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        credentials = await super().__call__(request)
        if credentials is None:
            raise Unauthenticated("Send Authorization: Bearer <token>.")
        return decode_token(credentials.credentials, runtime_of(request).settings.jwt_key)


_Bearer = TypeVar("_Bearer", bound=BearerPrincipal)


class AccountBearerPrincipal(BearerPrincipal):
    """The bearer scheme of account routes: the platform's admin token is not an account."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        principal = await super().__call__(request)
        if principal.is_admin:
            raise Forbidden(
                f"A {ADMIN_SCOPE} token is the platform, not an account: account routes refuse it."
            )
        return principal


def bearer_scheme(kind: type[_Bearer]) -> _Bearer:
    """The dependency of a bearer scheme: all kinds are the one scheme of the OpenAPI document."""
    return kind(
        auto_error=False,
        bearerFormat="JWT",
        scheme_name="HTTPBearer",
        description="HS256 JWT: `sub` is the account id; scope `billing:admin` for /v1/admin.",
    )


get_principal = bearer_scheme(BearerPrincipal)
get_account_principal = bearer_scheme(AccountBearerPrincipal)
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AccountPrincipalDep = Annotated[Principal, Depends(get_account_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise Forbidden(f"This call needs the {ADMIN_SCOPE} scope.")
    return principal


AdminScope = Annotated[Principal, Depends(require_admin)]

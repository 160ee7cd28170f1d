"""`Idempotency-Key` on every POST, PUT, PATCH and DELETE: pure ASGI, before the routes.

The caller is who the bearer token names (the account, or the platform for an admin token);
without a valid token the request passes through and its route answers 401. A first request
runs with the key claimed and its response is stored before it is sent; a repeat gets that
response back with `Idempotent-Replayed: true` and reaches no route at all.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from enum import Enum
from functools import partial
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.auth import decode_token
from app.core.errors import BillingError, Unauthenticated, render
from app.core.limits import MAX_BODY_BYTES
from app.core.outage import database_unavailable, outage_response
from app.core.request_context import reset_idempotency_key, set_idempotency_key
from app.core.runtime import Runtime
from app.idempotency.errors import invalid_key
from app.idempotency.service import (
    IdempotencyStore,
    StoredResponse,
    fingerprint,
    provider_key,
)

logger = logging.getLogger("billing.idempotency")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_KEY = re.compile(r"[\x20-\x7e]{1,255}")
PLATFORM = "platform"
# Answers that are not kept: the client may retry with the same key (a 429 after its
# Retry-After, a 5xx at once).
_NOT_KEPT = 429


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime[Any]) -> None:
        self.app = app
        self.store = IdempotencyStore(runtime.sessionmaker, runtime.clock)
        self.jwt_key = runtime.settings.jwt_key

    def _caller(self, scope: Scope) -> str | None:
        authorization = _header(scope, b"authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            principal = decode_token(token.strip(), self.jwt_key)
        except Unauthenticated:
            return None
        return PLATFORM if principal.is_admin else f"account:{principal.subject}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"idempotency-key")
        caller = self._caller(scope) if key is not None else None
        if key is None or caller is None:
            await self.app(scope, receive, send)
            return
        if not _KEY.fullmatch(key):
            await render(invalid_key())(scope, receive, send)
            return
        chunks, body = await _read_body(receive)
        if body is _Body.GONE:
            return
        replay_receive = _replaying(chunks, body is _Body.WHOLE, receive)
        if body is _Body.TOO_LARGE:
            await self.app(scope, replay_receive, send)
            return
        request = fingerprint(
            scope["method"], scope["path"], scope["query_string"], b"".join(chunks)
        )
        try:
            stored = await self.store.begin(caller, key, request)
        except BillingError as error:
            await render(error)(scope, receive, send)
            return
        except Exception as error:
            if database_unavailable(error):
                # An outage, not a bug: one line per request, as every route logs it.
                logger.warning("the idempotency key could not be claimed: database unavailable")
            else:
                logger.exception("the idempotency key could not be claimed")
            await outage_response()(scope, receive, send)
            return
        if stored is not None:
            await _replay(stored, send)
            return
        await self._run(scope, replay_receive, send, caller, key)

    async def _run(self, scope: Scope, receive: Receive, send: Send, caller: str, key: str) -> None:
        recorder = _Recorder(self.store, caller, key, send, partial(self._release, caller, key))
        token = set_idempotency_key(provider_key(caller, key))
        try:
            await self.app(scope, receive, recorder.send)
        except BaseException:
            await asyncio.shield(self._release(caller, key))
            raise
        finally:
            reset_idempotency_key(token)
        if not recorder.done:
            await self._release(caller, key)

    async def _release(self, caller: str, key: str) -> None:
        try:
            await self.store.release(caller, key)
        except Exception:
            logger.exception("the idempotency key could not be released")


class _Recorder:
    """Passes a response on; one to keep is stored first, then sent."""

    def __init__(
        self,
        store: IdempotencyStore,
        caller: str,
        key: str,
        send: Send,
        release: Callable[[], Awaitable[None]],
    ) -> None:
        self.store, self.caller, self.key, self._send = store, caller, key, send
        self._release = release
        self.start: Message | None = None
        self.body: list[bytes] = []
        self.keep = True
        self.done = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            status = int(message["status"])
            self.keep = status < 500 and status != _NOT_KEPT
            if not self.keep:
                self.done = True
                # Before the answer goes out: a retry it prompts finds the key free.
                await self._release()
                await self._send(message)
                return
            self.start = message
            return
        if not self.keep or message["type"] != "http.response.body" or self.start is None:
            await self._send(message)
            return
        self.body.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        await self._finish(self.start, b"".join(self.body))

    async def _finish(self, start: Message, body: bytes) -> None:
        headers = [
            [name.decode("latin-1"), value.decode("latin-1")] for name, value in start["headers"]
        ]
        try:
            await self.store.finish(
                self.caller, self.key, StoredResponse(start["status"], headers, body)
            )
        except Exception:
            # The change is made: the client gets its answer; the key stays claimed until it
            # is abandoned, and a repeat meanwhile is told the key is in use.
            logger.exception("the response to an idempotency key could not be stored")
        self.done = True
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body})


class _Body(Enum):
    WHOLE = "whole"
    # Past MAX_BODY_BYTES: passed on as it is, for the body limit to refuse (413).
    TOO_LARGE = "too_large"
    # The client went away before sending it all.
    GONE = "gone"


async def _read_body(receive: Receive) -> tuple[list[bytes], _Body]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return chunks, _Body.GONE
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return chunks, _Body.TOO_LARGE
        if not message.get("more_body", False):
            return chunks, _Body.WHOLE


def _replaying(chunks: list[bytes], whole: bool, receive: Receive) -> Receive:
    """A receive that hands the app the chunks read already, then the rest as it comes."""
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    if whole:
        messages[-1]["more_body"] = False
    pending = iter(messages)

    async def replay() -> Message:
        return next(pending, None) or await receive()

    return replay


async def _replay(stored: StoredResponse, send: Send) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})

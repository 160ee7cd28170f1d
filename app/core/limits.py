"""Request limits: the body's size, checked before the app reads it, and path characters.

Pure ASGI (no BaseHTTPMiddleware). A body over `MAX_BODY_BYTES` is refused with 413
`payload_too_large` from its `Content-Length` alone, before a byte of it is read; a body sent
without one (chunked) is counted as it streams in and refused as soon as it passes the limit,
so the body is never held whole.
"""

import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PayloadTooLarge, render

MAX_BODY_BYTES = 64 * 1024
_TOO_LARGE = f"The body is over {MAX_BODY_BYTES // 1024} KiB."
# C0 and C1 control characters, DEL and lone surrogates: never part of an id or a name.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# What a field that holds one is told, in a body and in a path alike.
CONTROL_CHARACTERS_REFUSED = "Text must not contain control characters"


class BodyTooLarge(HTTPException):
    """Raised from `receive` mid-body. An HTTPException, because FastAPI turns any other
    error met while it reads the body into a 400; the app's handler renders it as a 413."""

    def __init__(self) -> None:
        super().__init__(status_code=PayloadTooLarge.status, detail=_TOO_LARGE)


def _declared_length(scope: Scope) -> int | None:
    """The body's length as its headers frame it: `Content-Length`, 0 when neither it nor
    `Transfer-Encoding` is sent (HTTP/1.1: no body, as on most GETs), None when it streams
    in chunks (or the length is malformed) and must be counted. HTTP/2 frames a body without
    either header, so there it is always counted."""
    if scope.get("http_version") == "2":
        return None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
        chunked = chunked or name == b"transfer-encoding"
    return None if chunked else 0


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _declared_length(scope)
        if length is not None and length > self.max_body_bytes:
            await render(PayloadTooLarge(_TOO_LARGE))(scope, receive, send)
            return
        if length is not None:
            # The server delivers exactly that many bytes: nothing more to count.
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # Read by a middleware in between (the idempotency one hashes bodies), not by
            # a route, whose exception handlers would have answered it.
            if started:
                raise
            await render(PayloadTooLarge(_TOO_LARGE))(scope, receive, send)

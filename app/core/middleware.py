"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs throughput on every request)."""

import random
import re
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.metrics import record_request
from app.core.request_context import set_account_id, set_request_id

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


class RequestMiddleware:
    """Every HTTP request's envelope: an id (the client's `X-Request-ID` if sane, else a new
    one) on the request and its response, then the request counted, timed and logged.

    One layer with one `send` wrapper for both: each layer costs every request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _CLIENT_ID.fullmatch(candidate):
                    request_id = candidate
                break
        # 32 random hex digits, like uuid4().hex: an id to correlate lines by, not a secret, so
        # not worth a read of the system's randomness (a system call) on every request.
        request_id = request_id or f"{random.getrandbits(128):032x}"
        set_request_id(request_id)
        set_account_id(None)
        scope.setdefault("state", {})["request_id"] = request_id
        # Stays 500 if the app fails before it starts a response.
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            record_request(scope, status, time.perf_counter() - started)

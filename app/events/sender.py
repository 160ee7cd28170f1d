"""The Standard Webhooks client: one signed POST of one event, and what came of it.

https://www.standardwebhooks.com: `webhook-id` (the event id), `webhook-timestamp` (Unix
seconds of the send) and `webhook-signature` = `v1,` + base64 HMAC-SHA256 of
`{id}.{timestamp}.{body}` under the endpoint's secret. A 2xx within the timeout is success.
The client follows no redirects, keeps no cookies, reads no proxy settings from the
environment and never reads the answer's body: it sends the event and nothing else.
"""

import asyncio
import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from app.events.secrets import signing_key

USER_AGENT = "billing-webhooks/1"
DEFAULT_TIMEOUT_SECONDS = 10.0
_MAX_ERROR = 200


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    # None on success; else what went wrong, for the delivery log.
    error: str | None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _refused(exc: BaseException) -> bool:
    # anyio wraps the socket's ConnectionRefusedError in an OSError, httpcore and httpx in
    # their ConnectErrors: the cause is a few links down the chain.
    cause: BaseException | None = exc
    for _ in range(8):
        if cause is None:
            return False
        if isinstance(cause, ConnectionRefusedError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused" if _refused(exc) else f"connection failed: {exc}"[:_MAX_ERROR]
    return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]


class WebhookSender:
    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=timeout,
            transport=transport,
            # A jar that accepts no cookie: what one endpoint sets is never sent anywhere.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            headers={"User-Agent": USER_AGENT},
        )

    async def send(self, url: str, secret: str, message_id: str, body: bytes) -> SendResult:
        timestamp = int(time.time())  # the receiver checks it against its own clock
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, message_id, timestamp, body),
        }
        try:
            # httpx's timeout bounds each phase; the endpoint gets this long in all.
            async with (
                asyncio.timeout(self._timeout),
                self._client.stream("POST", url, content=body, headers=headers) as response,
            ):
                status = response.status_code
        except TimeoutError:
            return SendResult(None, "timeout")
        except httpx.HTTPError as exc:
            return SendResult(None, _describe(exc))
        if 200 <= status < 300:
            return SendResult(status, None)
        return SendResult(status, f"HTTP {status}")

    async def aclose(self) -> None:
        await self._client.aclose()

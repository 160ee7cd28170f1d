"""How the request-limits middleware reads a body's framing from its headers (pure logic)."""

import pytest

from app.core.limits import _declared_length


def scope(*headers: tuple[bytes, bytes], http_version: str = "1.1") -> dict[str, object]:
    return {"type": "http", "http_version": http_version, "headers": list(headers)}


@pytest.mark.parametrize(
    ("request_scope", "expected"),
    [
        (scope((b"content-length", b"120")), 120),
        # No Content-Length and no Transfer-Encoding: HTTP/1.1 has no body to count.
        (scope((b"accept", b"application/json")), 0),
        # Chunked: counted as it streams in.
        (scope((b"transfer-encoding", b"chunked")), None),
        # A malformed length is counted too, never trusted.
        (scope((b"content-length", b"12x")), None),
        # HTTP/2 frames a body without either header.
        (scope(http_version="2"), None),
    ],
    ids=["content-length", "no-body", "chunked", "malformed", "http2"],
)
def test_declared_length(request_scope: dict[str, object], expected: int | None) -> None:
    assert _declared_length(request_scope) == expected

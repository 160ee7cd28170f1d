"""JSON log lines on stdout, with card numbers and bearer tokens masked on the way out, and
the access log: one line per HTTP request.

Configured once by the process entry points (`billing` and `app.asgi`), never on import, so
that whoever embeds the app (the tests) keeps its own handlers.
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from stdnum import luhn

from app.core.request_context import current_account_id, current_request_id

HANDLER_NAME = "billing-json"
# Probes and scrapes every few seconds would drown the access log (at DEBUG, they are kept).
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
_requests = logging.getLogger("billing.requests")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    # uvicorn's ANSI-coloured duplicate of the message.
    "color_message",
}

# 13-19 digits, optionally grouped by single spaces or dashes as people type them.
_PAN_CANDIDATE = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
REDACTED = "[REDACTED]"


def _mask_pan(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return REDACTED if luhn.is_valid(digits) else match.group()


# Whatever any of the three could match contains one of these: most text (every access log
# line's fields) is cleared by this one scan instead of three substitutions.
_SUSPECT = re.compile(r"(?i:bearer)|eyJ|\d(?:[ -]?\d){12}")


def redact(text: str) -> str:
    """Mask anything that looks like a card number, a bearer token or a JWT."""
    if _SUSPECT.search(text) is None:
        return text
    text = _BEARER.sub(f"Bearer {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _PAN_CANDIDATE.sub(_mask_pan, text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


# `json.dumps(entry, default=str, ensure_ascii=False)`, without re-reading its options on
# every line (the access log writes one a request).
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's extras.

    Every text in it is redacted as it is written, a last line of defence: code must not log
    secrets, and this masks them if it does. (One pass over the record: a separate filter
    that rewrote the record first cost the access log a third of its time.)
    """

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:
            # A malformed log call must not break the request that made it.
            message = str(record.msg)
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(message),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry:
                entry[key] = _redact_value(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return _ENCODER.encode(entry)


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stdout) as JSON; calling it again replaces ours only."""
    # The JSON lines carry no thread, process or source location: not gathering them saves
    # every record (the access log writes one a request) a walk up the stack and three
    # lookups (the logging HOWTO's "Optimization").
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(existing)
        existing.close()
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request it makes at INFO (a line per webhook delivery, with its URL);
    # the delivery worker logs its own summary instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def log_request(method: str, route: str, status: int, seconds: float) -> None:
    """The access log's line for one HTTP request, by route template (measured by
    `app.core.metrics`, which counts the same request once)."""
    _requests.log(
        logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
        "%s %s %s",
        method,
        route,
        status,
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "request_id": current_request_id(),
            "account_id": current_account_id(),
        },
    )

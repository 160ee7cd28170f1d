"""Per-request telemetry, measured once: the Prometheus series, and the request's log line
handed to the access log (`app.core.logging.log_request`).

Collectors live at module level so they are registered once per process, however many apps
are built in it (the tests build one per test).
"""

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from starlette.types import Scope

from app.core.logging import log_request

# Set by `billing serve --workers N` (N > 1) so that every worker's series are aggregated.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LABELS = ("method", "route", "status")

# A `_created` timestamp series beside every counter doubles what is scraped and stored for
# something rate() and histogram_quantile() never use.
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_REQUESTS = Counter(
    "billing_http_requests_total", "HTTP requests by method, route template and status.", _LABELS
)
HTTP_LATENCY = Histogram(
    "billing_http_request_duration_seconds",
    "HTTP request latency by method, route template and status.",
    _LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/cards/{card_id}`), so label values stay few."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


def exposition() -> bytes:
    """Every series in Prometheus text format, across all workers when there are several."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


# Each (method, route, status)'s two series, looked up once: `labels()` takes a lock and builds
# its key on every call. Few: methods and route templates are fixed sets, statuses a handful.
_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _series_of(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    series = _series.get((method, route, status))
    if series is None:
        labels = (method, route, str(status))
        series = _series[method, route, status] = (
            HTTP_REQUESTS.labels(*labels),
            HTTP_LATENCY.labels(*labels),
        )
    return series


def record_request(scope: Scope, status: int, seconds: float) -> None:
    """Count and time one HTTP request, and log its line."""
    method = scope["method"] if scope["method"] in _METHODS else "other"
    route = route_template(scope)
    requests, latency = _series_of(method, route, status)
    requests.inc()
    latency.observe(seconds)
    log_request(method, route, status, seconds)

"""Operations: health probes, request ids, Prometheus metrics, JSON logs, graceful shutdown."""

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.core.auth import issue_token
from app.core.config import Settings
from app.core.logging import HANDLER_NAME, configure_logging
from app.main import create_app
from tests.factories import (
    create_card,
    create_invoice,
    create_payment_method,
    create_project,
    finalize_invoice,
    set_billing_details,
)

ACCOUNT = "acct_ops"
PAN = "4242424242424242"
# A LogRecord's own attributes; the rest of a record came from `extra=`.
_PLUMBING = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
UNREACHABLE_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/unreachable"
SERVER_SECRET = "graceful-shutdown-test-secret-0123456789abcdef"
BILLING = Path(sys.executable).parent / "billing"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


# --- health ------------------------------------------------------------------------------


class TestHealth:
    async def test_liveness_answers_ok(self, client):
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_readiness_answers_ok_when_the_database_answers(self, client):
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_readiness_is_503_and_liveness_200_when_the_database_is_unreachable(self):
        settings = Settings(
            database_url=UNREACHABLE_DATABASE,
            env="development",  # type: ignore[arg-type]
            payment_provider="sandbox",  # type: ignore[arg-type]
        )
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                ready = await http.get("/readyz")
                alive = await http.get("/healthz")
        finally:
            await app.state.runtime.close()
        assert ready.status_code == 503
        assert ready.headers["content-type"] == "application/problem+json"
        body = ready.json()
        assert body["code"] == "service_unavailable"
        assert body["request_id"] == ready.headers["x-request-id"]
        assert "127.0.0.1:1" not in body["detail"]
        # Liveness does no I/O, so a dead database does not get the process restarted.
        assert alive.status_code == 200


# --- request ids -------------------------------------------------------------------------


class TestRequestId:
    async def test_a_sane_client_id_is_echoed(self, client):
        response = await client.get("/healthz", headers={"X-Request-ID": "lb-7f3a:42"})
        assert response.headers["x-request-id"] == "lb-7f3a:42"

    async def test_a_missing_or_unsafe_id_is_replaced_by_a_new_one(self, client):
        first = await client.get("/healthz")
        unsafe = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
        assert len(first.headers["x-request-id"]) == 32
        assert unsafe.headers["x-request-id"] not in ("", "bad id\twith spaces")
        assert unsafe.headers["x-request-id"] != first.headers["x-request-id"]

    async def test_errors_carry_the_id_in_header_and_body(self, client):
        response = await client.get("/v1/cards", headers={"X-Request-ID": "req-401"})
        assert response.status_code == 401
        assert response.headers["x-request-id"] == "req-401"
        assert response.json()["request_id"] == "req-401"


# --- metrics -----------------------------------------------------------------------------


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse_samples(response.text)


def parse_samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


class TestMetrics:
    async def test_requests_are_labelled_by_route_template_not_by_concrete_path(self, client, auth):
        headers = auth(ACCOUNT)
        await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        before = await scrape(client)
        response = await client.post(f"/v1/cards/{second['id']}/primary", headers=headers)
        assert response.status_code == 200
        after = await scrape(client)
        labels = {"method": "POST", "route": "/v1/cards/{card_id}/primary", "status": "200"}
        assert delta(before, after, "billing_http_requests_total", **labels) == 1
        assert delta(before, after, "billing_http_request_duration_seconds_count", **labels) == 1
        assert all(second["id"] not in dict(key[1]).get("route", "") for key in after)

    async def test_failed_requests_are_counted_with_their_status(self, client, auth):
        before = await scrape(client)
        response = await client.delete("/v1/cards/card_missing", headers=auth(ACCOUNT))
        assert response.status_code == 404
        after = await scrape(client)
        labels = {"method": "DELETE", "route": "/v1/cards/{card_id}", "status": "404"}
        assert delta(before, after, "billing_http_requests_total", **labels) == 1

    async def test_paths_without_a_route_share_one_label(self, client):
        before = await scrape(client)
        for path in ("/v1/nothing/1", "/v1/nothing/2", "/wp-login.php"):
            assert (await client.get(path)).status_code == 404
        after = await scrape(client)
        labels = {"method": "GET", "route": "unmatched", "status": "404"}
        assert delta(before, after, "billing_http_requests_total", **labels) == 3
        routes = {dict(key[1]).get("route") for key in after}
        assert not {"/v1/nothing/1", "/wp-login.php"} & routes

    async def test_charge_attempts_by_outcome_and_invoice_transitions(self, client, auth):
        admin = auth(admin=True)
        for account, number in (("acct_ops_paid", PAN), ("acct_ops_declined", "4000000000000341")):
            headers = auth(account)
            await create_project(client, admin, account)
            await set_billing_details(client, headers)
            await create_card(client, headers, number)
        paid = await create_invoice(client, admin, "acct_ops_paid")
        declined = await create_invoice(client, admin, "acct_ops_declined")
        before = await scrape(client)
        assert (await finalize_invoice(client, admin, paid["id"]))["status"] == "paid"
        assert (await finalize_invoice(client, admin, declined["id"]))["status"] == "payment_due"
        after = await scrape(client)
        charges = "billing_charge_attempts_total"
        assert delta(before, after, charges, outcome="succeeded") == 1
        assert delta(before, after, charges, outcome="failed") == 1
        transitions = "billing_invoice_transitions_total"
        pending = "payment_pending"
        assert delta(before, after, transitions, from_status=pending, to_status="paid") == 1
        assert delta(before, after, transitions, from_status=pending, to_status="payment_due") == 1


# --- logs --------------------------------------------------------------------------------


class CapturingHandler(logging.Handler):
    """Everything logged, as JSON, before any redaction: the message and every field."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = {key: value for key, value in vars(record).items() if key not in _PLUMBING}
        entry = {"logger": record.name, "level": record.levelname, "message": record.getMessage()}
        self.lines.append(json.dumps(entry | fields, default=str))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def entries(self, logger: str) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self.lines]
        return [entry for entry in parsed if entry["logger"] == logger]


@pytest.fixture
def logs() -> Iterator[CapturingHandler]:
    root = logging.getLogger()
    handler = CapturingHandler()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


class TestLogs:
    async def test_one_line_per_request_with_route_status_duration_and_ids(
        self, client, auth, logs
    ):
        headers = {**auth(ACCOUNT), "X-Request-ID": "req-log-1"}
        card = await create_card(client, auth(ACCOUNT))
        response = await client.delete(f"/v1/cards/{card['id']}", headers=headers)
        assert response.status_code == 409
        [line] = [e for e in logs.entries("billing.requests") if e["request_id"] == "req-log-1"]
        assert line["level"] == "INFO"
        assert line["method"] == "DELETE"
        assert line["route"] == "/v1/cards/{card_id}"
        assert line["status"] == 409
        assert line["account_id"] == ACCOUNT
        assert isinstance(line["duration_ms"], float)

    async def test_card_events_are_logged_with_the_request_context(self, client, auth, logs):
        headers = auth(ACCOUNT)
        first = await create_card(client, headers)
        second = await create_card(client, headers, "5555555555554444")
        await client.post(
            f"/v1/cards/{second['id']}/primary", headers={**headers, "X-Request-ID": "req-sw"}
        )
        assert (await client.delete(f"/v1/cards/{first['id']}", headers=headers)).status_code == 204
        events = {
            (entry["event"], entry["card_id"]): entry for entry in logs.entries("billing.events")
        }
        assert ("card.added", first["id"]) in events
        assert ("card.added", second["id"]) in events
        assert ("card.removed", first["id"]) in events
        switched = events[("card.primary_switched", second["id"])]
        assert switched["account_id"] == ACCOUNT
        assert switched["request_id"] == "req-sw"

    @pytest.mark.sandbox_only
    async def test_card_numbers_sent_to_the_api_never_reach_the_logs(self, client, auth, logs):
        headers = auth(ACCOUNT)
        payment_method = await create_payment_method(client, headers, PAN, cvc="987")
        response = await client.post(
            "/v1/cards", headers=headers, json={"payment_method": payment_method}
        )
        assert response.status_code == 201
        invalid = await client.post(
            "/v1/sandbox/payment-methods",
            headers=headers,
            json={"number": "4242424242424241", "exp_month": 12, "exp_year": 2030, "cvc": "987"},
        )
        assert invalid.status_code == 422
        assert len(logs.entries("billing.requests")) == 3
        assert PAN not in logs.text
        assert "4242424242424241" not in logs.text

    async def test_bearer_tokens_never_reach_the_logs(self, client, token, logs):
        bearer = token(ACCOUNT)
        card = await create_card(client, {"Authorization": f"Bearer {bearer}"})
        assert card["last4"] == "4242"
        expired = token(ACCOUNT, ttl=timedelta(seconds=-60))
        rejected = await client.get("/v1/cards", headers={"Authorization": f"Bearer {expired}"})
        assert rejected.status_code == 401
        assert logs.entries("billing.requests")
        assert bearer not in logs.text
        assert expired not in logs.text


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The production logging set-up, writing to a buffer; the root logger is restored after."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    configure_logging("INFO", stream)
    yield stream
    for handler in root.handlers:
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    assert root.handlers == handlers
    root.setLevel(level)


class TestRedaction:
    def test_output_is_one_json_object_per_line(self, json_log):
        logger = logging.getLogger("billing.test")
        logger.info("invoice %s paid", "in_1", extra={"amount": 1999, "at": datetime.now(UTC)})
        try:
            raise ValueError("multi\nline")
        except ValueError:
            logger.exception("failed")
        first, second = (json.loads(line) for line in json_log.getvalue().splitlines())
        assert first["message"] == "invoice in_1 paid"
        assert first["amount"] == 1999
        assert first["level"] == "INFO"
        assert first["logger"] == "billing.test"
        assert "ValueError: multi\nline" in second["exception"]

    def test_card_numbers_and_tokens_are_masked_wherever_they_appear(self, json_log):
        jwt = issue_token(
            Settings(jwt_secret=SERVER_SECRET),
            ACCOUNT,
            now=datetime.now(UTC),
            ttl=timedelta(hours=1),
        )
        logger = logging.getLogger("billing.test")
        logger.warning("card %s", PAN, extra={"header": f"Authorization: Bearer {jwt}"})
        logger.warning("spaced 4242 4242 4242 4242 and dashed 5555-5555-5555-4444")
        logger.warning("bare token %s", jwt, extra={"nested": {"cards": [PAN]}})
        try:
            raise RuntimeError(f"charge of {PAN} failed")
        except RuntimeError:
            logger.exception("boom")
        output = json_log.getvalue()
        assert PAN not in output
        assert "4242 4242 4242 4242" not in output
        assert "5555-5555-5555-4444" not in output
        assert jwt not in output
        assert output.count("[REDACTED]") >= 6

    def test_numbers_that_are_not_card_numbers_are_kept(self, json_log):
        # Same length as a Visa number but fails the Luhn check, like most ids and timestamps.
        logging.getLogger("billing.test").warning("order 4242424242424241 total 1999")
        assert "order 4242424242424241 total 1999" in json_log.getvalue()


# --- a real server: structured output and graceful shutdown ------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


class Server:
    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.port = free_port()
        self.stdout = tmp_path / "stdout.log"
        self.stderr = tmp_path / "stderr.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
        base.pop("PROMETHEUS_MULTIPROC_DIR", None)
        environment = {
            **base,
            "BILLING_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}",
            "BILLING_JWT_SECRET": SERVER_SECRET,
            "BILLING_LOG_LEVEL": "DEBUG",
            **env,
        }
        command = [str(BILLING), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.process = subprocess.Popen(
                command, cwd=tmp_path, env=environment, stdout=out, stderr=err
            )
        # Generous: with several suites sharing 2 cores, a server that starts worker processes
        # (each importing the app) has taken more than 30 s to answer.
        wait_for(self.ready, "the server to answer /healthz", seconds=120)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"server exited {self.process.returncode}: {self.stderr.read_text()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def output(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.read_text().splitlines() if line]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(**env: str) -> Server:
        servers.append(Server(tmp_path, **env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def read_response(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


class TestGracefulShutdown:
    def test_sigterm_finishes_the_request_in_flight_then_exits_0(self, start_server):
        server = start_server()
        bearer = issue_token(
            Settings(jwt_secret=SERVER_SECRET),
            ACCOUNT,
            now=datetime.now(UTC),
            ttl=timedelta(hours=1),
        )
        body = json.dumps({"number": PAN, "exp_month": 12, "exp_year": 2030, "cvc": "123"})
        head = (
            "POST /v1/sandbox/payment-methods HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n"
            f"Authorization: Bearer {bearer}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "X-Request-ID: in-flight\r\n"
            "Expect: 100-continue\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as connection:
            connection.sendall(head.encode())
            # The server asks for the body only once the app is handling the request.
            assert connection.recv(1024).startswith(b"HTTP/1.1 100 Continue")
            server.process.send_signal(signal.SIGTERM)
            wait_for(lambda: refuses_connections(server.port), "the listener to close")
            connection.sendall(body.encode())
            response = read_response(connection)
        status_line, _, rest = response.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 201 Created"
        assert b"connection: close" in rest.lower()
        assert json.loads(rest.partition(b"\r\n\r\n")[2])["last4"] == "4242"
        assert server.process.wait(timeout=10) == 0
        assert refuses_connections(server.port)
        output = server.output()
        [request] = [line for line in output if line.get("request_id") == "in-flight"]
        assert request["route"] == "/v1/sandbox/payment-methods"
        assert request["status"] == 201
        assert request["account_id"] == ACCOUNT
        assert PAN not in server.stdout.read_text()
        assert bearer not in server.stdout.read_text()

    def test_several_workers_report_metrics_together_and_stop_cleanly(self, start_server):
        server = start_server(BILLING_WORKERS="2")
        probes = 20
        for _ in range(probes):
            # A new connection each time, so that both workers take some of them.
            assert httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200
        for _ in range(3):
            samples = parse_samples(httpx.get(f"{server.url}/metrics", timeout=5).text)
            labels = {"method": "GET", "route": "/readyz", "status": "200"}
            assert value(samples, "billing_http_requests_total", **labels) == probes
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=20) == 0
        assert refuses_connections(server.port)
        assert {line["message"] for line in server.output()} >= {"Application startup complete."}

"""The two servers a browser test needs: the billing service, and a page of another origin.

The service is the real `billing serve` (uvicorn) in its own process on a loopback port, on
the suite's database; the host page, served from another port (so another origin), embeds
the portal the way an adopter's app would, with a script tag pointing at the service.
"""

import html
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from tests.stripe_server import free_port, stop_process

# A ceiling, not a wait: on a loaded 2-core machine start-up has taken over 30 s.
STARTUP_SECONDS = 90.0

# The host page's own styles: none may reach inside the portal, and the portal's none out.
HOST_STYLES = """
body { font-family: Georgia, serif; color: rgb(120, 20, 20); margin: 24px; }
button { background: rgb(0, 100, 0); color: rgb(255, 255, 255); }
"""


@dataclass
class BillingServer:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        stop_process(self.process)


@contextmanager
def billing_server(environment: dict[str, str], log: Path) -> Iterator[BillingServer]:
    """`billing serve` with these BILLING_* variables, on a database already migrated."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-migrate",
            ],
            env={**os.environ, "BILLING_LOG_LEVEL": "WARNING", **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = BillingServer(process=process, url=f"http://127.0.0.1:{port}", log=log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        server.stop()


def _wait_until_up(server: BillingServer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"billing serve did not start:\n{server.log.read_text()[-3000:]}")


class HostPage:
    """An adopter's page on its own origin: `url(token=…, project=…)` embeds the portal."""

    def __init__(self) -> None:
        self.api = ""
        handler = type("Handler", (_PageHandler,), {"host": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, **attributes: str) -> str:
        return f"{self.origin}/?{urlencode(attributes)}"

    def render(self, attributes: dict[str, str]) -> str:
        api = html.escape(self.api)
        embedded = " ".join(
            f'{name}="{html.escape(value)}"'
            for name, value in {"api": self.api, **attributes}.items()
        )
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Acme Cloud: account billing</title>
<style>{HOST_STYLES}</style>
<script src="{api}/portal/billing-portal.js"></script>
<script>
  // What a host app does when the portal's token expires: here, count it for the tests.
  window.expiredSessions = 0;
  document.addEventListener("billing-portal-unauthenticated", () => window.expiredSessions++);
</script>
</head>
<body>
<main>
<h1>Account settings</h1>
<button type="button" id="host-button">Host page button</button>
<billing-portal {embedded}></billing-portal>
</main>
</body>
</html>"""

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _PageHandler(BaseHTTPRequestHandler):
    host: HostPage

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        body = self.host.render({name: values[0] for name, values in query.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows nothing useful from per-request lines."""

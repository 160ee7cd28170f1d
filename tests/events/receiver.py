"""A real HTTP server on a loopback port standing in for the platform's webhook endpoint.

It records every request it gets (headers and body), answers each with the next status of
`script` (then `status`), and can hold requests until released, to catch a sender mid-flight.
"""

import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[int] = deque()
        self.status = 200
        self.location: str | None = None
        # While cleared, requests wait (after being recorded) until it is set.
        self.release = threading.Event()
        self.release.set()
        # Set as soon as a request has been recorded.
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.script.popleft() if receiver.script else receiver.status
                    receiver._recorded.notify_all()
                receiver.arrived.set()
                receiver.release.wait(timeout=30)
                try:
                    self.send_response(status)
                    if receiver.location is not None:
                        self.send_header("Location", receiver.location)
                    self.send_header("Set-Cookie", "session=from-the-endpoint; Path=/")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up waiting (a timeout test) or was killed

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            # Several workers connect at once; the default backlog of 5 would drop SYNs.
            request_queue_size = 128

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/billing"

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        """Wait until `count` requests in all have been recorded."""
        with self._recorded:
            return self._recorded.wait_for(lambda: len(self.received) >= count, timeout)

    def ids(self) -> list[str]:
        with self._lock:
            return [request.headers["webhook-id"] for request in self.received]

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

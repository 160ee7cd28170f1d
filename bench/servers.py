"""The two servers under test, wrk, and what /proc says about their processes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
WRK_SCRIPT = Path(__file__).parent / "wrk" / "random_request.lua"
STARTUP_SECONDS = 60
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: "subprocess.Popen[bytes]"
    log: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def memory_mib(self) -> dict[str, float]:
        """VmRSS now and VmHWM (the peak) of the process that serves requests."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        fields = {
            line.split(":")[0]: int(line.split()[1])
            for line in status.splitlines()
            if line.startswith(("VmRSS:", "VmHWM:"))
        }
        return {"rss": round(fields["VmRSS"] / 1024, 1), "peak": round(fields["VmHWM"] / 1024, 1)}


def service_command(port: int, billing: Path | None = None) -> list[str]:
    billing = str(billing or Path(sys.executable).parent / "billing")
    # One process: `--workers 1` runs uvicorn's server in the command's own process.
    return [
        billing,
        "serve",
        "--no-migrate",
        "--workers",
        "1",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]


def bare_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--workers", "1",
        "--no-access-log", "--log-level", "warning", "--host", LOOPBACK, "--port", str(port),
    ]  # fmt: skip


def _env(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BILLING_")}
    env.update(values)
    return env


@contextmanager
def running(name: str, command: list[str], env: dict[str, str], logs: Path) -> Iterator[Server]:
    """Run a server until the block ends; its output goes to a log file, never to a pipe."""
    log = logs / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(name, int(command[-1]), process, log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=35)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextmanager
def service_and_bare(
    database: str, secret: str, logs: Path, tag: str = "", billing: Path | None = None
) -> Iterator[tuple[Server, Server]]:
    """The service and the baseline on free loopback ports, both on `database` (a plain DSN).

    `billing`: another installation's `billing` command (e.g. an earlier commit's, in its own
    virtualenv) to serve instead of this checkout's.
    """
    sa_url = database.replace("postgresql://", "postgresql+asyncpg://", 1)
    service_env = _env(
        BILLING_DATABASE_URL=sa_url, BILLING_JWT_SECRET=secret, BILLING_LOG_LEVEL="INFO"
    )
    bare_env = _env(BENCH_DATABASE_URL=database)
    service_port, bare_port = free_port(), free_port()
    with (
        running(
            f"service{tag}", service_command(service_port, billing), service_env, logs
        ) as service,
        running(f"bare{tag}", bare_command(bare_port), bare_env, logs) as bare,
    ):
        yield service, bare


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(server.url + "/openapi.json", timeout=5):  # noqa: S310
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer on port {server.port} in {STARTUP_SECONDS}s")


def call(server: Server, line: str, method: str = "GET") -> tuple[int, Any]:
    """Send one request-file line (`path<TAB>header<TAB>value`); the status and parsed body."""
    path, name, value = line.split("\t")
    request = urllib.request.Request(  # noqa: S310 (loopback URL built here)
        server.url + path,
        method=method,
        headers={name: value},
        data=b"" if method != "GET" else None,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wrk(
    server: Server, requests: Path, seconds: float, connections: int, method: str = "GET"
) -> dict[str, Any]:
    """One wrk run against the server; wrk's summary as the Lua script's `done` prints it."""
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
        "-s", str(WRK_SCRIPT), server.url, "--", str(requests), method,
    ]  # fmt: skip
    cpu = server.cpu_seconds()
    # wrk from PATH: the Debian package.
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    cpu = server.cpu_seconds() - cpu
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    seconds_run = summary["duration_us"] / 1e6
    return {
        "requests": summary["requests"],
        "rps": round(summary["requests"] / seconds_run, 1),
        "p50_ms": summary["p50_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "errors": sum(summary["errors"].values()),
        "non_2xx": summary["errors"]["status"],
        # What busy neighbours on a shared machine distort least.
        "cpu_ms_per_request": round(cpu * 1000 / max(1, summary["requests"]), 3),
    }

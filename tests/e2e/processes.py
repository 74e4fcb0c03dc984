"""A REAL `senim node` process for the e2e tests, and the waiting and HTTP it needs.

`NodeProcess` starts `senim node --config FILE` as a subprocess with its log appended
to a file, waits until GET /v1/status answers (failing fast if the process dies),
stops it with SIGTERM or kills its whole session, and talks JSON to its API.
`tests.e2e.harness.Consortium` lays out the files and makes these.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.client import BadStatusLine
from pathlib import Path
from typing import Any, TypeVar

HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.05


def senim_executable() -> str:
    """The `senim` console script of the interpreter running the tests."""
    candidate = Path(sys.executable).parent / "senim"
    if candidate.exists():
        return str(candidate)
    raise RuntimeError(f"no senim script next to {sys.executable}; install the project "
                       "(source scripts/_venv.sh)")


# "LOW-HIGH": pick ports from this range rather than the OS's ephemeral ones (a shared
# machine may reserve a range for one user's tests).
PORTS_ENV = "SENIM_TEST_PORTS"


def host_port(host: str, port: int) -> str:
    """As a node config writes an address: an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# Ports this test process has handed out. The kernel may give bind(("", 0)) a port it
# gave a moment ago, and both holders bind later: one node's API port was once another's
# P2P port, and the status poll read a P2P greeting.
# Forgotten when full, or when a small SENIM_TEST_PORTS range has none left: a port
# handed out long ago is most likely free again, as before this set existed.
_handed_out: set[tuple[str, int]] = set()
HANDED_OUT_MAX = 20_000
FREE_PORT_TRIES_MAX = 200


def free_port(host: str = HOST) -> int:
    """A port on `host` that nothing listens on now and, unless all of them were, that
    this process has not handed out before (the caller binds it later, so it may be
    taken meanwhile: `Consortium.start` retries on new ports)."""
    if len(_handed_out) >= HANDED_OUT_MAX:
        _handed_out.clear()
    for _ in range(FREE_PORT_TRIES_MAX):
        port = _unbound_port(host)
        if port is None:  # every port of the range was handed out: start again
            _handed_out.clear()
            continue
        if (host, port) not in _handed_out:
            _handed_out.add((host, port))
            return port
    raise RuntimeError(f"no port on {host} that was not handed out already")


def _unbound_port(host: str) -> int | None:
    """A port nothing listens on, from the range if set (None: those free were all
    handed out)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    chosen = os.environ.get(PORTS_ENV)
    if not chosen:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            return int(sock.getsockname()[1])
    low, _, high = chosen.partition("-")
    candidates = list(range(int(low), int(high) + 1))
    random.shuffle(candidates)
    handed_out_free = False
    for port in candidates:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        if (host, port) not in _handed_out:
            return port
        handed_out_free = True
    if handed_out_free:
        return None
    raise RuntimeError(f"no free port in {PORTS_ENV}={chosen}")


T = TypeVar("T")


def wait_until(condition: Callable[[], T | None], timeout_s: float, what: str,
               interval_s: float = POLL_S) -> T:
    """Poll `condition` until it returns something truthy, and return that (so never
    None); raise TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout_s:.1f}s waiting for {what}")
        time.sleep(interval_s)


class NodeExited(RuntimeError):
    """The node process ended before it answered on its API."""

    def __init__(self, message: str, code: int | None) -> None:
        super().__init__(message)
        self.code = code


class HttpError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def http(method: str, url: str, body: bytes | None = None,
         content_type: str = "application/json", timeout_s: float = 10.0
         ) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; returns (status, headers, body) for 2xx-5xx alike."""
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@dataclass
class NodeProcess:
    """A `senim node --config FILE` subprocess with its config, data dir and log."""

    slug: str
    config_path: Path
    data_dir: Path
    log_path: Path
    api_port: int
    p2p_port: int
    process: subprocess.Popen[bytes] | None = None
    node_args: tuple[str, ...] = ()  # after `--config FILE` at each start, e.g. ("--resync",)
    host: str = HOST  # where both its API and its P2P listen

    @property
    def url(self) -> str:
        return f"http://{host_port(self.host, self.api_port)}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ---- lifecycle ---------------------------------------------------------------------
    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for readiness (the log is appended to)."""
        if self.running():
            raise RuntimeError(f"node {self.slug} is already running (pid {self.pid})")
        with self.log_path.open("ab") as log:
            log.write(f"--- harness: starting {self.slug} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [senim_executable(), "node", "--config", str(self.config_path), *self.node_args],
                cwd=self.config_path.parent, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        return self.process

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> NodeProcess:
        self.spawn()
        self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> dict[str, Any]:
        """Poll GET /v1/status until it answers; fail fast if the process dies."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.running():
                code = self.process.returncode if self.process else None
                raise NodeExited(f"node {self.slug} exited with {code} before it was "
                                 f"ready; log tail:\n{self.log_tail()}", code)
            try:
                return self.status(timeout_s=2.0)
            except (OSError, HttpError, ValueError, BadStatusLine):
                pass  # not listening yet, or another process holds the port
            if time.monotonic() >= deadline:
                raise TimeoutError(f"node {self.slug} not ready on {self.url} within "
                                   f"{timeout_s}s; log tail:\n{self.log_tail()}")
            time.sleep(POLL_S)

    def wait_exit(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        assert self.process is not None, "node was never started"
        return self.process.wait(timeout=timeout_s)

    def send_signal(self, sig: int) -> None:
        if self.running():
            assert self.process is not None
            self.process.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """Ask the node to stop (SIGTERM by default) and wait; SIGKILL if it hangs."""
        if self.process is None:
            raise RuntimeError(f"node {self.slug} was never started")
        if not self.running():
            return self.process.returncode
        self.send_signal(sig)
        try:
            return self.wait_exit(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> int | None:
        """SIGKILL the node (and anything in its session) and reap it."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        return self.wait_exit(STOP_TIMEOUT_S)

    # ---- logs and HTTP -----------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def request(self, method: str, path: str, body: Any = None,
                timeout_s: float = 10.0) -> tuple[int, bytes]:
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        status, _headers, answer = http(method, self.url + path, data, timeout_s=timeout_s)
        return status, answer

    def get_json(self, path: str, timeout_s: float = 10.0) -> Any:
        status, body = self.request("GET", path, timeout_s=timeout_s)
        if not 200 <= status < 300:
            raise HttpError(status, body)
        return json.loads(body)

    def post_json(self, path: str, body: Any, timeout_s: float = 10.0) -> tuple[int, Any]:
        status, answer = self.request("POST", path, body, timeout_s=timeout_s)
        return status, json.loads(answer)

    def status(self, timeout_s: float = 10.0) -> dict[str, Any]:
        result: dict[str, Any] = self.get_json("/v1/status", timeout_s)
        return result

    def height(self) -> int:
        return int(self.status()["height"])

    def wait_height(self, height: int, timeout_s: float = 20.0) -> int:
        reached: list[int] = []

        def check() -> bool:
            reached.append(self.height())
            return reached[-1] >= height

        wait_until(check, timeout_s, f"{self.slug} to reach height {height}")
        return reached[-1]

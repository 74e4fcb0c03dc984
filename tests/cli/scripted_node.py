"""A stand-in for a node's HTTP API on a loopback port, for the CLI tests: each request is
answered as the test scripts it (a status, and a JSON body, or text as a proxy's page), and
each is recorded, so a test can say what was asked and how often."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.transactions import decode_transaction

# What a request is answered: (status, a JSON body, or text when a str)
Answer = tuple[int, object]
# The answer to a request by its method and path (its query included)
Answers = Callable[[str, str], Answer]
NOT_SCRIPTED: Answer = (404, "<h1>Not Found</h1>")


class ScriptedNode(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: Answers = lambda _method, _path: NOT_SCRIPTED
        self.asked: list[str] = []  # "METHOD /path", without the query
        self.posted: list[bytes] = []  # each POST's body, as sent
        self.headers: dict[str, str] = {}  # sent with every answer (a redirect's Location)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def last_tx_id(self) -> str:
        """The id of the transaction last POSTed, as a node that took it answers it."""
        return decode_transaction(bytes.fromhex(json.loads(self.posted[-1])["tx"])).tx_id.hex()


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedNode

    def _answer(self) -> None:
        body_sent = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command == "POST":
            self.server.posted.append(body_sent)
        self.server.asked.append(f"{self.command} {self.path.split('?')[0]}")
        status, body = self.server.answers(self.command, self.path)
        text = isinstance(body, str)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if text else "application/json")
        if status in (429, 503):
            self.send_header("Retry-After", "1")
        self.send_header("Content-Length", str(len(data)))
        for name, value in self.server.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def scripted_node() -> Iterator[ScriptedNode]:
    """A ScriptedNode serving until the block ends."""
    server = ScriptedNode()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

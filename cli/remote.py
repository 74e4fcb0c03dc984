"""Chain facts from one node over HTTP, each answer checked against a Merkle proof.

Every answer's proof is checked against one state root, so the answers are
consistent with each other. It takes that root on the node's word: online
verification trusts the node asked. For a verdict that trusts no node, use an
offline proof (`ledger.offline`): its root is certified by a quorum of the
genesis validators.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ledger.errors import SenimError
from ledger.facts import StateFacts
from storage.state_tree import state_proof_from_json, verify_state_proof


class RemoteFactsError(SenimError):
    """The node could not be reached, or answered with something that does not verify."""


class StateMoved(RemoteFactsError):
    """The chain advanced mid-verification; verify again against the new head."""


class RemoteFacts(StateFacts):
    """Asks one node; pins the first state root it reports so all answers agree."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.height: int | None = None
        self.state_root: bytes | None = None

    def get_json(self, path: str) -> Any:
        url = self.base_url + path
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RemoteFactsError(f"{url} answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RemoteFactsError(f"cannot reach node at {self.base_url}: {exc}") from exc

    def describe(self) -> str:
        return f"node {self.base_url} at height {self.height}"


    def _value(self, key: bytes) -> bytes | None:
        answer = self.get_json(f"/v1/state/{key.hex()}")
        try:
            root = bytes.fromhex(answer["state_root"])
            value = None if answer["value"] is None else bytes.fromhex(answer["value"])
            proof = state_proof_from_json(answer["proof"])
            height = int(answer["height"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RemoteFactsError(f"node sent a malformed state answer: {exc}") from exc
        if self.state_root is None:
            self.state_root, self.height = root, height
        elif root != self.state_root:
            raise StateMoved("a block was committed between answers")
        if not verify_state_proof(root, key, value, proof):
            raise RemoteFactsError("node's Merkle proof does not verify: do not trust it")
        return value

    def get(self, key: bytes) -> bytes | None:
        return self._value(key)

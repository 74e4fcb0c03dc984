"""Chain facts from one node over HTTP, checked so that the node need not be trusted.

Every answer's Merkle proof is checked against one state root, so the answers
agree with each other. Given the consortium's genesis (a certificate check for
its validators), that root is checked too, as a light client does: the node
must show the block at that height with a commit certificate signed by a
quorum of the genesis validators, and the block's header must carry that very
root. A node can then only lie by omission: answering from an older certified
block. The verdict says which block and time it holds as of, and `max_age_s`
turns an answer older than that into a refusal.

Without a certificate check the root is taken on the node's word, and the
source says so.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ledger.blocks import Header, decode_block
from ledger.errors import MalformedInput, SenimError
from ledger.facts import StateFacts
from ledger.offline import CertificateCheck
from ledger.verification import when
from storage.state_tree import state_proof_from_json, verify_state_proof


class RemoteFactsError(SenimError):
    """The node could not be reached, or answered with something that does not verify."""


class StateMoved(RemoteFactsError):
    """The chain advanced mid-verification; verify again against the new head."""


class UntrustedAnswer(RemoteFactsError):
    """The node's answer contradicts what the genesis validators certified."""


class RemoteFacts(StateFacts):
    """Asks one node; pins the first state root it reports so all answers agree."""

    def __init__(self, base_url: str, timeout_s: float = 10.0,
                 certified: CertificateCheck | None = None, chain_id: str | None = None
                 ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.height: int | None = None
        self.state_root: bytes | None = None
        self.header: Header | None = None  # the certified header of `state_root`
        self._certified = certified
        self._chain_id = chain_id

    def _fetch(self, path: str) -> bytes:
        url = self.base_url + path
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as exc:
            raise RemoteFactsError(f"{url} answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RemoteFactsError(f"cannot reach node at {self.base_url}: {exc}") from exc

    def get_json(self, path: str) -> Any:
        try:
            return json.loads(self._fetch(path))
        except ValueError as exc:
            raise RemoteFactsError(f"node at {self.base_url} sent something that is not "
                                   "JSON") from exc

    def describe(self) -> str:
        if self.header is not None:
            return (f"node {self.base_url}, block {self.header.height} "
                    f"({when(self.header.time_ms)}) certified by the genesis validators")
        return f"node {self.base_url} at height {self.height} (taken on the node's word)"

    def _check_certified(self, root: bytes, height: int) -> None:
        """The light-client step: is `root` the state root of a certified block?"""
        assert self._certified is not None
        raw = self._fetch(f"/v1/blocks/{height}?format=raw")
        info = self.get_json(f"/v1/blocks/{height}")
        try:
            header = decode_block(raw).header
            certificate = bytes.fromhex(info["certificate"])
        except (MalformedInput, KeyError, TypeError, ValueError) as exc:
            raise UntrustedAnswer(f"node sent a block {height} that does not decode: {exc}") \
                from exc
        if header.height != height or (self._chain_id and header.chain_id != self._chain_id):
            raise UntrustedAnswer(f"node sent another block than block {height} of this chain")
        if not self._certified(certificate, height, header.block_hash):
            raise UntrustedAnswer(f"node's block {height} has no valid commit certificate from "
                                  "the genesis validators: do not trust this node")
        if header.state_root != root:
            raise UntrustedAnswer(f"node answered from a state root that block {height} does "
                                  "not certify: do not trust this node")
        self.header = header


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
            if self._certified is not None:
                self._check_certified(root, height)
            self.state_root, self.height = root, height
        elif root != self.state_root:
            raise StateMoved("a block was committed between answers")
        if not verify_state_proof(root, key, value, proof):
            raise RemoteFactsError("node's Merkle proof does not verify: do not trust it")
        return value

    def get(self, key: bytes) -> bytes | None:
        return self._value(key)

"""Chain facts from one node over HTTP, checked so that the node need not be trusted.

Every answer's Merkle proof is checked against one state root, so the answers
agree with each other. Given the consortium's genesis (and a certificate
check), that root is checked too, as a light client does: the node serves the
validator-set changes since genesis, which are followed one by one
(`ledger.light_client`); it must show the block at that height with a commit
certificate signed by a quorum of the set in force at that height, the block's
header must carry that very root, and the block's state must hold no set
change that the walk skipped. A node can then only lie by omission: answering
from an older certified block. The verdict says which block and time it holds
as of, and `max_age_s` turns an answer older than that into a refusal.

Without a certificate check the root is taken on the node's word, and the
source says so. Each answer is asked for, and read within its limits, by
`cli.node_answers`.
"""

from __future__ import annotations

import json
from typing import Any

from cli.deadline import Deadline, DeadlinePassed
from cli.node_answers import NO_ROUTE_SAID, RemoteFactsError, fetch, shown_node, without_slash
from cli.spoken import Moment, Sentence
from ledger.blocks import Header, decode_block
from ledger.errors import MalformedInput
from ledger.facts import StateFacts
from ledger.genesis import Genesis
from ledger.light_client import (
    MAX_SET_CHANGE_PROOFS,
    SetCertificateCheck,
    SetChangeProof,
    UnprovenValidatorSet,
    ValidatorSetHistory,
    follow_validator_sets,
)
from ledger.payload_fields import MAX_HEIGHT
from ledger.records import CALENDAR_LAST_MS
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from ledger.verification import when
from storage.errors import MalformedProofError
from storage.state_tree import state_proof_from_json, verify_state_proof

# What decoding or reading a record the node sent can raise when the node's word is
# taken (no --genesis): a record can decode yet hold a value of the wrong kind (a number
# where bytes belong, a time no calendar holds). Checked answers never get that far.
NODE_RECORD_ERRORS = (MalformedInput, KeyError, TypeError, AttributeError, ValueError,
                      OverflowError)


class StateMoved(RemoteFactsError):
    """The chain advanced mid-verification; verify again against the new head."""


class UntrustedAnswer(RemoteFactsError):
    """The node's answer contradicts what the genesis validators certified."""

    def verdict_facts(self, node_url: str) -> dict[str, str]:
        """What a verdict's sentence says the lie from, and the node that told it: a proof
        that contradicts the node's own answer needs no genesis file to be caught, and is
        said as what it is in every language (not as a disagreement with a genesis file
        the reader may not have given)."""
        if self.sentence is not None and self.sentence.key == "cli.node.proof_false":
            return {"untrusted_because": "proof_false", "node": shown_node(node_url)}
        return {"node": shown_node(node_url)}


class RemoteFacts(StateFacts):
    """Asks one node; pins the first state root it reports so all answers agree."""

    def __init__(self, base_url: str, timeout_s: float = 10.0,
                 certified: SetCertificateCheck | None = None, genesis: Genesis | None = None,
                 deadline: Deadline | None = None) -> None:
        self.base_url = without_slash(base_url)
        self.shown = shown_node(self.base_url)  # as every line and --json names the node
        self.timeout_s = timeout_s
        self.height: int | None = None
        self.state_root: bytes | None = None
        self.header: Header | None = None  # the certified header of `state_root`
        self.certifiers = ""  # which validators certified `header`, in words
        self.certified_from = 0  # ... the set in force from this block
        self.set_changes = 0  # ... followed from genesis through these many changes
        if (certified is None) != (genesis is None):
            raise ValueError("a certificate check needs the genesis it starts from")
        self._certified = certified
        self._genesis = genesis
        self._deadline = deadline  # the command's, over all its requests (cli.deadline)
        self._history: ValidatorSetHistory | None = None  # followed to `header`

    def _fetch(self, path: str) -> bytes:
        return fetch(self.base_url, path, self.timeout_s, self._deadline)

    def get_json(self, path: str) -> Any:
        try:
            return json.loads(self._fetch(path))
        except (ValueError, RecursionError) as exc:
            raise RemoteFactsError(Sentence("cli.node.not_json",
                                            node=self.shown)) from exc

    def describe(self) -> str:
        if self.header is not None:
            return (f"node {self.shown}, block {self.header.height} "
                    f"({when(self.header.time_ms)}) certified by {self.certifiers}")
        if self.height is None:
            # Nothing of its state was taken: the document failed before any chain lookup,
            # or the node's first answer was refused (it did not check against genesis).
            return f"node {self.shown} (no state of its chain was used)"
        return f"node {self.shown} at height {self.height} (taken on the node's word)"

    def described(self) -> Sentence:
        """`describe` in the reader's language."""
        if self.header is not None:
            return Sentence("cli.source.node_certified", self.describe(), node=self.shown,
                            height=self.header.height, when=Moment(when(self.header.time_ms)),
                            certifiers=certifiers(self.certified_from, self.set_changes))
        if self.height is None:
            return Sentence("cli.source.node_unused", self.describe(), node=self.shown)
        return Sentence("cli.source.node_word", self.describe(), node=self.shown,
                        height=self.height)

    def _check_certified(self, root: bytes, height: int) -> None:
        """The light-client step: is `root` the state root of a block certified by the
        validator set followed from genesis to its height?"""
        assert self._certified is not None and self._genesis is not None
        try:
            raw = self._fetch(f"/v1/blocks/{height}?format=raw")
            info = self.get_json(f"/v1/blocks/{height}")
        except RemoteFactsError as exc:
            if exc.sentence is not None and exc.sentence.key == NO_ROUTE_SAID:
                # it answered as of a block it then has not: not a wrong --node address
                raise UntrustedAnswer(f"node answered as of block {height}, which it then "
                                      "says it does not hold: do not trust this node") from exc
            raise
        try:
            header = decode_block(raw).header
            certificate = bytes.fromhex(info["certificate"])
        except (MalformedInput, KeyError, TypeError, ValueError) as exc:
            raise UntrustedAnswer(f"node sent a block {height} that does not decode: {exc}") \
                from exc
        if header.height != height or header.chain_id != self._genesis.chain_id:
            raise UntrustedAnswer(f"node sent another block than block {height} of this chain")
        try:
            history = follow_validator_sets(self._genesis, self._set_changes(),
                                            self._certified)
            in_force = history.check_block(header, certificate, self._certified)
            if header.state_root != root:
                raise UntrustedAnswer(f"node answered from a state root that block {height} "
                                      "does not certify: do not trust this node")
            history.check_index(height, self._proven_index(header))
        except UnprovenValidatorSet as exc:
            raise UntrustedAnswer(f"{exc}: do not trust this node") from exc
        self.header, self._history = header, history
        changes = len(history.records) - 1
        self.certified_from, self.set_changes = in_force.from_height, changes
        self.certifiers = ("the genesis validators" if in_force.from_height == 1 else
                           f"the validators in force from block {in_force.from_height}, "
                           f"followed from genesis through {changes} change(s)")

    def _set_changes(self) -> list[SetChangeProof]:
        """Every validator-set change proof the node serves, page by page."""
        proofs: list[SetChangeProof] = []
        after = 0
        while True:
            page = self.get_json(f"/v1/validator-sets/changes?after={after}")
            try:
                changes, more = page["changes"], bool(page["more"])
                proofs += [SetChangeProof.from_json(c) for c in changes]
            except (KeyError, TypeError) as exc:
                raise UntrustedAnswer(f"node sent a malformed set-change page: {exc}") from exc
            except UnprovenValidatorSet as exc:
                raise UntrustedAnswer(str(exc)) from exc
            if len(proofs) > MAX_SET_CHANGE_PROOFS:
                raise UntrustedAnswer("node sent more validator-set changes than a chain "
                                      "can hold")
            if not more or not changes or proofs[-1].from_height <= after:
                return proofs
            after = proofs[-1].from_height

    def _proven_index(self, header: Header) -> bytes | None:
        """`v:index` in the block's own state, proven against its root."""
        answer = self.get_json(f"/v1/state/{VALIDATOR_SET_INDEX_KEY.hex()}")
        try:
            root = bytes.fromhex(answer["state_root"])
            value = None if answer["value"] is None else bytes.fromhex(answer["value"])
            proof = state_proof_from_json(answer["proof"])
        except (KeyError, TypeError, ValueError, MalformedProofError) as exc:
            raise RemoteFactsError(self._malformed_state(exc)) from exc
        if root != header.state_root:
            raise StateMoved("a block was committed between answers")
        if not verify_state_proof(root, VALIDATOR_SET_INDEX_KEY, value, proof):
            raise UntrustedAnswer("node's Merkle proof of the validator-set index does not "
                                  "verify: do not trust this node")
        return value

    def _value(self, key: bytes) -> bytes | None:
        answer = self.get_json(f"/v1/state/{key.hex()}")
        try:
            root = bytes.fromhex(answer["state_root"])
            value = None if answer["value"] is None else bytes.fromhex(answer["value"])
            proof = state_proof_from_json(answer["proof"])
            height = answer["height"]
            if type(height) is not int or not 0 <= height <= MAX_HEIGHT:  # True, 1.5, "9"
                raise ValueError(f"its height {str(height)[:40]!r} is no block height")
        except (KeyError, TypeError, ValueError, MalformedProofError) as exc:
            raise RemoteFactsError(self._malformed_state(exc)) from exc
        if self.state_root is None:
            if self._certified is not None:
                self._check_certified(root, height)
            self.state_root, self.height = root, height
        elif root != self.state_root:
            raise StateMoved("a block was committed between answers")
        if not verify_state_proof(root, key, value, proof):
            # the node lied about its own state: an untrusted answer, not one never given
            raise UntrustedAnswer(Sentence(
                "cli.node.proof_false", f"the node at {self.shown} sent a proof that does "
                "not agree with its answer: do not trust this node, and check the document "
                "against another (a ministry's node, say)", node=self.shown))
        return value

    def _malformed_state(self, exc: Exception) -> Sentence:
        return Sentence("cli.node.malformed_state", f"the node at {self.shown} sent a "
                        f"malformed state answer ({exc}): is it a Senim node?",
                        node=self.shown, why=str(exc))

    def get(self, key: bytes) -> bytes | None:
        return self._value(key)

    def block_time(self, height: int) -> int | None:
        """The time of block `height`, at or below the pinned one: certified by the set
        in force at its height, as the pinned block is (taken on the node's word when no
        genesis was given, as everything else then). None when the node does not hold it
        (it joined by state sync above it)."""
        if self.height is None or not 1 <= height <= self.height:
            return None
        try:
            info = self.get_json(f"/v1/blocks/{height}")
            if self._certified is None or self._history is None:
                time_ms = int(info["time_ms"])
                # a block time taken on a node's word (no --genesis) past the calendar is
                # no time a verdict can say (datetime raised OSError, not a record refused)
                if not 0 <= time_ms <= CALENDAR_LAST_MS:
                    raise ValueError(f"block time {time_ms} ms is no time a calendar shows")
                return time_ms
            raw = self._fetch(f"/v1/blocks/{height}?format=raw")
            header = decode_block(raw).header
            certificate = bytes.fromhex(info["certificate"])
        except (UntrustedAnswer, DeadlinePassed):
            raise
        except RemoteFactsError:
            return None
        except (MalformedInput, KeyError, TypeError, ValueError) as exc:
            raise UntrustedAnswer(f"node sent a block {height} that does not decode: {exc}") \
                from exc
        if header.height != height:
            raise UntrustedAnswer(f"node sent another block than block {height}")
        try:
            self._history.check_block(header, certificate, self._certified)
        except UnprovenValidatorSet as exc:
            raise UntrustedAnswer(f"{exc}: do not trust this node") from exc
        return header.time_ms


def undecodable(exc: Exception, node_url: str) -> Sentence:
    """A record the node sent (taken on its word) that does not decode, in words."""
    return Sentence("cli.node.record", f"the node sent a record that does not decode: {exc}",
                    node=shown_node(node_url))


def certifiers(from_height: int, changes: int) -> Sentence:
    """Which validators certified a block: the genesis set, or the one in force from a
    later block, reached through `changes` certified set changes."""
    if from_height == 1:
        return Sentence("cli.source.genesis_validators")
    return Sentence("cli.source.later_validators", fromBlock=from_height, changes=changes)

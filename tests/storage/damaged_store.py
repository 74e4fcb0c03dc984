"""The small real store the damage tests break, and every answer a node gives from it.

It is built once with the real Chain on LevelDB (a lone validator certifies each
block); each case copies it and damages the copy, then opens it as the node does
(`Chain` plus the certificate check) and asks what a node would be asked.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.facts import LocalFacts
from ledger.payloads import AnchorPayload, CredentialRef, IssueBatchPayload, RevokePayload
from ledger.records import revocation_key
from ledger.verification import verify_credential
from node.validators import ValidatorSet
from storage.batch_tree import audit_path
from storage.errors import CorruptStateError
from storage.kv import LevelDBStore
from storage.proofs import encode_state_proof
from tests.node.conftest import CHAIN_ID, Consortium, accredit, commit, documents_of, make_tx

SEED = 20_261_130
BLOCKS_PER_SESSION = 10
DAMAGED = "damaged"  # an answer refused with CorruptStateError


@dataclass(frozen=True)
class Pristine:
    path: Path
    net: Consortium
    documents: list[dict[str, Any]]  # [revoked, still valid]
    revoked_key: bytes
    answers: dict[tuple[str, Any], Any]


def _anchors(net: Consortium, count: int) -> list[Any]:
    return [make_tx(net.ministry, AnchorPayload(os.urandom(32))) for _ in range(count)]


def build_store(path: Path, net: Consortium) -> tuple[list[dict[str, Any]], bytes]:
    """Two sessions, so the store holds both table files and a log with records."""
    kv = LevelDBStore(str(path))
    chain = Chain(kv, net.genesis)
    commit(chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch([{"name": "Aigerim", "iin": "990101400123"},
                        {"name": "Daniyar", "iin": "980202300456"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, 2))])
    target = batch.target_hashes[0]
    commit(chain, [make_tx(net.university, RevokePayload(CredentialRef(
        batch.root, target, 0, tuple(audit_path(list(batch.target_hashes), 0))),
        "issued_in_error"))])
    for _ in range(BLOCKS_PER_SESSION):
        commit(chain, _anchors(net, 4))
    kv.close()
    kv = LevelDBStore(str(path))  # opening folds the log into a table file
    chain = Chain(kv, net.genesis)
    for _ in range(BLOCKS_PER_SESSION):
        commit(chain, _anchors(net, 4))
    kv.close()
    return documents_of(batch), revocation_key(net.university.member_id, batch.root, target)


def open_like_node(path: Path, net: Consortium) -> tuple[LevelDBStore, Chain]:
    kv = LevelDBStore(str(path))
    try:
        chain = Chain(kv, net.genesis)
        chain.check_certificates(ValidatorSet.from_genesis(net.genesis).certifies)
    except BaseException:
        kv.close()
        raise
    return kv, chain


def _answer(ask: Callable[..., Any], *args: Any) -> Any:
    try:
        return ask(*args)
    except CorruptStateError:
        return DAMAGED


def _proof(chain: Chain, key: bytes) -> bytes:
    return encode_state_proof(chain.state.prove(key))


def _verdict(document: dict[str, Any], facts: LocalFacts) -> str:
    return verify_credential(document, facts, CHAIN_ID).status


def answers(chain: Chain, state_keys: list[bytes], tx_ids: list[bytes],
            documents: list[dict[str, Any]]) -> dict[tuple[str, Any], Any]:
    """Everything a node answers from its store, each refused answer as DAMAGED."""
    found: dict[tuple[str, Any], Any] = {("height", None): chain.height}
    for height in range(chain.height + 2):
        found[("block", height)] = _answer(chain.get_block_bytes, height)
        found[("certificate", height)] = _answer(chain.get_certificate, height)
    for key in state_keys:
        found[("value", key)] = _answer(chain.state.get, key)
        found[("proof", key)] = _answer(_proof, chain, key)
    for tx_id in tx_ids:
        found[("tx", tx_id)] = _answer(chain.tx_location, tx_id)
    facts = LocalFacts(chain.state, "test")
    for number, document in enumerate(documents):
        found[("verdict", number)] = _answer(_verdict, document, facts)
    return found


def ask_everything(chain: Chain, pristine: Pristine) -> dict[tuple[str, Any], Any]:
    keys = [key for kind, key in pristine.answers if kind == "value"]
    tx_ids = [key for kind, key in pristine.answers if kind == "tx"]
    return answers(chain, keys, tx_ids, pristine.documents)


def damaged_copy(pristine: Pristine, tmp_path: Path, case: str) -> Path:
    copy = tmp_path / case
    shutil.copytree(pristine.path, copy)
    return copy

"""A damaged store is refused or reported, never served: bits flipped in each kind of file.

A small real store is built once with the real Chain on LevelDB (a lone
validator certifies each block). Each case copies it, damages one file at a
seeded position, then opens it as the node does (`Chain` plus the certificate
check). Either the open refuses with CorruptStateError, or every answer the
node would give (blocks, certificates, state values and proofs, transaction
locations, credential verdicts) equals the undamaged store's answer or is a
CorruptStateError; and whenever an answer was refused, `senim fsck`'s check
reports damage too. A wrong answer fails the test.
"""

from __future__ import annotations

import os
import random
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.fsck import check_store
from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.facts import LocalFacts
from ledger.payloads import AnchorPayload, CredentialRef, IssueBatchPayload, RevokePayload
from ledger.records import revocation_key
from ledger.verification import verify_credential
from node.validators import ValidatorSet
from storage.batch_tree import audit_path
from storage.errors import CorruptStateError
from storage.kv import WRITES_FILE, LevelDBStore
from storage.proofs import encode_state_proof
from storage.state_tree import StateTree
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)

SEED = 20_261_130
POSITIONS_PER_FILE = 20
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


def _build(path: Path, net: Consortium) -> tuple[list[dict[str, Any]], bytes]:
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


def _ask_everything(chain: Chain, pristine: Pristine) -> dict[tuple[str, Any], Any]:
    keys = [key for kind, key in pristine.answers if kind == "value"]
    tx_ids = [key for kind, key in pristine.answers if kind == "tx"]
    return answers(chain, keys, tx_ids, pristine.documents)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    net = make_consortium()
    root = tmp_path_factory.mktemp("damage")
    documents, revoked_key = _build(root / "store", net)
    # Open a copy: opening rewrites LevelDB's files, and each case damages the originals.
    shutil.copytree(root / "store", root / "reference")
    kv, chain = open_like_node(root / "reference", net)
    try:
        keys = [key for key, _ in chain.state.iterate_items()]
        tx_ids = [tx.tx_id for height in range(1, chain.height + 1)
                  for tx in (chain.get_block(height) or pytest.fail()).transactions]
        reference = answers(chain, [*keys, b"never-written"], tx_ids, documents)
    finally:
        kv.close()
    assert DAMAGED not in reference.values()
    assert [reference[("verdict", 0)], reference[("verdict", 1)]] == ["revoked", "valid"]
    return Pristine(root / "store", net, documents, revoked_key, reference)


def _damaged_copy(pristine: Pristine, tmp_path: Path, case: str) -> Path:
    copy = tmp_path / case
    shutil.copytree(pristine.path, copy)
    return copy


def _flip_bit(path: Path, position: int, bit: int) -> None:
    with path.open("r+b") as file:
        file.seek(position)
        byte = file.read(1)[0]
        file.seek(position)
        file.write(bytes((byte ^ (1 << bit),)))


def _outcome(copy: Path, pristine: Pristine, what: str) -> str:
    """'refused', 'reported' (some answers refused, fsck finds damage) or 'sound'."""
    try:
        kv, chain = open_like_node(copy, pristine.net)
    except CorruptStateError:
        return "refused"
    try:
        got = _ask_everything(chain, pristine)
    finally:
        kv.close()
    wrong = [key for key, value in got.items()
             if value != DAMAGED and value != pristine.answers[key]]
    assert not wrong, f"{what}: wrong answers for {[(k, got[k]) for k in wrong[:5]]}"
    if DAMAGED not in got.values():
        return "sound"
    try:
        kv = LevelDBStore(str(copy))
    except CorruptStateError:
        return "reported"  # the store no longer even opens: as loud as a report gets
    try:
        problems = check_store(kv, pristine.net.genesis).problems
    finally:
        kv.close()
    assert problems, f"{what}: answers were refused but fsck found nothing"
    return "reported"


def _files(store: Path, match: Callable[[str], bool]) -> list[Path]:
    found = sorted(path for path in store.iterdir() if match(path.name))
    assert found, f"no such file in {sorted(p.name for p in store.iterdir())}"
    return found


FILE_KINDS: dict[str, Callable[[str], bool]] = {
    "table": lambda name: name.endswith((".ldb", ".sst")),
    "log": lambda name: name.endswith(".log"),
    "manifest": lambda name: name.startswith("MANIFEST-"),
    "current": lambda name: name == "CURRENT",
    "write-count": lambda name: name == WRITES_FILE,
}


@pytest.mark.parametrize("kind", list(FILE_KINDS))
def test_flipped_bits_are_refused_or_reported_never_served(
        kind: str, pristine: Pristine, tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-{kind}")
    outcomes: dict[str, int] = {}
    for case in range(POSITIONS_PER_FILE):
        copy = _damaged_copy(pristine, tmp_path, f"case{case}")
        target = rng.choice(_files(copy, FILE_KINDS[kind]))
        position, bit = rng.randrange(target.stat().st_size), rng.randrange(8)
        _flip_bit(target, position, bit)
        outcome = _outcome(copy, pristine, f"{target.name} byte {position} bit {bit}")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        shutil.rmtree(copy)
    if kind in ("log", "manifest", "current", "write-count"):
        # Read whole at open, each under a checksum or a strict format.
        assert outcomes == {"refused": POSITIONS_PER_FILE}
    else:
        # A table's blocks are checked as they are read; a flip in a block no answer
        # reads (or in the bloom filter, which is skipped when damaged) stays quiet.
        assert outcomes.get("sound", 0) < POSITIONS_PER_FILE, outcomes


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.7, 0.99])
def test_a_cut_short_log_is_refused(keep: float, pristine: Pristine, tmp_path: Path) -> None:
    """LevelDB takes a log cut short for a crash mid-write and drops its tail quietly;
    the write count beside the store says acknowledged blocks were lost."""
    copy = _damaged_copy(pristine, tmp_path, "cut")
    (log,) = _files(copy, FILE_KINDS["log"])
    os.truncate(log, int(log.stat().st_size * keep))
    with pytest.raises(CorruptStateError, match=r"lost \d+ acknowledged write"):
        open_like_node(copy, pristine.net)


@pytest.mark.parametrize("lost", ["CURRENT", "table", "MANIFEST", WRITES_FILE])
def test_a_lost_file_is_refused_and_no_new_store_is_made(
        lost: str, pristine: Pristine, tmp_path: Path) -> None:
    copy = _damaged_copy(pristine, tmp_path, "lost")
    kind = {"CURRENT": "current", "table": "table", "MANIFEST": "manifest",
            WRITES_FILE: "write-count"}[lost]
    for path in _files(copy, FILE_KINDS[kind]):
        path.unlink()
    before = sorted(path.name for path in copy.iterdir())
    with pytest.raises(CorruptStateError):
        open_like_node(copy, pristine.net)
    if lost != WRITES_FILE:  # (without it LevelDB opens, folding its log, before the refusal)
        after = {path.name for path in copy.iterdir()} - {"LOCK", "LOG", "LOG.old"}
        assert after <= set(before), "a refused open must not start a new store"


def test_a_new_store_is_made_only_in_an_empty_directory(tmp_path: Path) -> None:
    LevelDBStore(str(tmp_path / "fresh")).close()
    (tmp_path / "empty").mkdir()
    LevelDBStore(str(tmp_path / "empty")).close()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "000005.ldb").write_bytes(b"old table")
    with pytest.raises(CorruptStateError, match="CURRENT file is missing"):
        LevelDBStore(str(tmp_path / "used"))
    assert sorted(p.name for p in (tmp_path / "used").iterdir()) == ["000005.ldb"]


# ---- damage LevelDB cannot see: a value that passes its checksum but is wrong -------------

@pytest.fixture
def opened(pristine: Pristine, tmp_path: Path) -> Iterator[tuple[LevelDBStore, Chain]]:
    kv, chain = open_like_node(_damaged_copy(pristine, tmp_path, "open"), pristine.net)
    yield kv, chain
    kv.close()


@pytest.mark.parametrize("damage", ["flipped", "lost", "moved"])
def test_a_damaged_revocation_never_reads_as_valid(
        damage: str, pristine: Pristine, opened: tuple[LevelDBStore, Chain]) -> None:
    kv, chain = opened
    stored_key = b"s/v" + pristine.revoked_key  # the state tree's value under its prefix
    value = kv.get(stored_key)
    assert value is not None
    if damage == "flipped":
        kv.write({stored_key: bytes((value[0] ^ 1,)) + value[1:]})
    elif damage == "lost":
        kv.write({stored_key: None})
    else:  # a value that is some other key's
        kv.write({stored_key: kv.get(b"s/v" + pristine.revoked_key[:-1] + b"\x00") or b"x"})
    with pytest.raises(CorruptStateError, match="does not match the tree"):
        chain.state.get(pristine.revoked_key)
    facts = LocalFacts(chain.state, "test")
    with pytest.raises(CorruptStateError):
        verify_credential(pristine.documents[0], facts, CHAIN_ID)
    assert verify_credential(pristine.documents[1], facts, CHAIN_ID).status == "valid"
    assert any("state" in problem for problem in check_store(kv, pristine.net.genesis).problems)


def test_a_value_without_a_leaf_is_refused(
        pristine: Pristine, opened: tuple[LevelDBStore, Chain]) -> None:
    kv, chain = opened
    kv.write({b"s/v" + b"never-written": b"planted"})
    with pytest.raises(CorruptStateError):
        chain.state.get(b"never-written")


def test_a_block_or_certificate_that_passes_its_checksum_but_is_wrong_is_refused(
        pristine: Pristine, opened: tuple[LevelDBStore, Chain]) -> None:
    kv, chain = opened
    block_key, cert_key = b"B" + (5).to_bytes(8, "big"), b"C" + (6).to_bytes(8, "big")
    kv.write({block_key: kv.get(b"B" + (4).to_bytes(8, "big")),
              cert_key: kv.get(b"C" + (7).to_bytes(8, "big"))})
    with pytest.raises(CorruptStateError):
        chain.get_block_bytes(5)
    with pytest.raises(CorruptStateError):
        chain.get_certificate(6)
    assert chain.get_block_bytes(7) == pristine.answers[("block", 7)]
    problems = check_store(kv, pristine.net.genesis).problems
    assert any(problem.startswith("block 5") for problem in problems), problems
    assert any(problem.startswith("block 6: its certificate") for problem in problems), problems


@pytest.mark.parametrize(("damage", "message"), [
    ("gap", "block .* is missing below the head"),
    ("head certificate", "certificate of block .* does not verify"),
    ("old certificate", "block .* is not the block named by its certificate"),
    ("head block", "stored block .* is not this chain's block"),
])
def test_start_up_refuses_a_gap_or_a_block_or_certificate_that_does_not_verify(
        damage: str, message: str, pristine: Pristine, tmp_path: Path) -> None:
    head = pristine.answers[("height", None)]
    block_key = {"gap": head - 3, "head block": head}.get(damage)
    cert_key = {"head certificate": head, "old certificate": head - 2}.get(damage)
    copy = _damaged_copy(pristine, tmp_path, "start")
    kv = LevelDBStore(str(copy))
    if block_key is not None:
        other = kv.get(b"B" + (block_key - 1).to_bytes(8, "big"))
        kv.write({b"B" + block_key.to_bytes(8, "big"): None if damage == "gap" else other})
    if cert_key is not None:
        other = kv.get(b"C" + (cert_key - 1).to_bytes(8, "big"))
        kv.write({b"C" + cert_key.to_bytes(8, "big"): other})
    kv.close()
    with pytest.raises(CorruptStateError, match=message):
        open_like_node(copy, pristine.net)


def test_fsck_finds_nothing_in_a_sound_store(pristine: Pristine, tmp_path: Path) -> None:
    kv = LevelDBStore(str(_damaged_copy(pristine, tmp_path, "sound")))
    try:
        found = check_store(kv, pristine.net.genesis)
    finally:
        kv.close()
    assert found.problems == []
    assert found.blocks == pristine.answers[("height", None)] + 1
    assert found.transactions == sum(1 for kind, _ in pristine.answers if kind == "tx")


# ---- a read that a commit overtakes is no damage --------------------------------------------

def test_reads_on_another_thread_during_commits_are_never_called_damage(tmp_path: Path) -> None:
    """The API reads state on the event loop while the engine thread commits: a reader
    may see the new value before the tree in memory moves on. It must get one of the
    values the key really had, never a CorruptStateError and never another value."""
    kv = LevelDBStore(str(tmp_path / "db"))
    tree = StateTree(kv, b"s/", cache_nodes_max=64)  # small: foreign walks reach the disk
    keys = [f"key-{n}".encode() for n in range(16)]
    versions = {key: {None} for key in keys}
    commits, stop = 150, threading.Event()
    seen: list[tuple[bytes, bytes | None]] = []
    failures: list[BaseException] = []

    def reader() -> None:
        rng = random.Random(SEED)
        while not stop.is_set() and len(seen) < 200_000:
            key = rng.choice(keys)
            try:
                seen.append((key, tree.get(key)))
            except BaseException as exc:
                failures.append(exc)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(commits):
            overlay = tree.overlay()
            for key in keys[round_ % 4::4]:
                value = f"{key.decode()}@{round_}".encode()
                versions[key].add(value)
                overlay.set(key, value)
            kv.write(tree.commit(overlay))
            tree.committed(overlay)
    finally:
        stop.set()
        thread.join(timeout=30)
        kv.close()
    assert not failures, failures[0]
    assert seen, "the reader read nothing"
    assert all(value in versions[key] for key, value in seen)

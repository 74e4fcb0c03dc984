"""Damage LevelDB's checksums cannot see: a stored value, block or certificate that passes
its checksum but is wrong is refused (and `senim fsck` reports it), never served; and a
read that a commit overtakes is no damage."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.fsck import check_store
from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.facts import LocalFacts
from ledger.verification import verify_credential
from storage.errors import CorruptStateError
from storage.kv import LevelDBStore
from storage.state_tree import StateTree
from tests.node.conftest import CHAIN_ID
from tests.storage.damaged_store import SEED, Pristine, damaged_copy, open_like_node

# ---- damage LevelDB cannot see: a value that passes its checksum but is wrong -------------

@pytest.fixture
def opened(pristine: Pristine, tmp_path: Path) -> Iterator[tuple[LevelDBStore, Chain]]:
    kv, chain = open_like_node(damaged_copy(pristine, tmp_path, "open"), pristine.net)
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
    else:  # a value that is some other key's, never its own: the key with its last byte
        # made 0 was the key itself when that (random) byte was 0, and nothing was damaged
        moved = next(other for key, other in kv.iterate_prefix(b"s/v")
                     if key != stored_key and other != value)
        kv.write({stored_key: moved})
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


@pytest.mark.parametrize("vouched_by", ["certificate", "next block"])
def test_a_block_whose_transactions_are_damaged_is_never_served(
        vouched_by: str, pristine: Pristine, tmp_path: Path) -> None:
    """Serving checks a block's bytes without decoding its transactions (against the
    root of their encodings): a changed transaction must still show, header intact."""
    copy = damaged_copy(pristine, tmp_path, "body")
    if vouched_by == "certificate":
        kv, chain = open_like_node(copy, pristine.net)
    else:
        kv = LevelDBStore(str(copy))
        chain = Chain(kv, pristine.net.genesis)
    try:
        block_key = b"B" + (5).to_bytes(8, "big")
        header, txs, last_commit = decode(kv.get(block_key) or b"")
        assert txs, "block 5 must hold transactions"
        txs[0] = txs[0][:-1] + bytes((txs[0][-1] ^ 1,))  # one bit of a signature
        kv.write({block_key: encode([header, txs, last_commit])})
        with pytest.raises(CorruptStateError, match="block 5 does not decode"):
            chain.get_block_bytes(5)
        with pytest.raises(CorruptStateError, match="block 5 does not decode"):
            chain.get_block(5)
        if vouched_by == "certificate":
            assert chain.get_block_bytes(4) == pristine.answers[("block", 4)]
        else:  # the link to block 4 is in a damaged block: no voucher
            with pytest.raises(CorruptStateError, match="block 5 does not decode"):
                chain.get_block_bytes(4)
    finally:
        kv.close()


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
    copy = damaged_copy(pristine, tmp_path, "start")
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
    kv = LevelDBStore(str(damaged_copy(pristine, tmp_path, "sound")))
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
    versions: dict[bytes, set[bytes | None]] = {key: {None} for key in keys}
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


def test_a_read_between_a_commits_writes_and_its_adoption_is_no_damage(tmp_path: Path) -> None:
    """A commit's nodes are stored where the old ones were: once its writes are in and
    before `committed`, a key it did not change no longer checks against the tree in
    memory (seen by a daemon's GET /v1/status while it synced blocks: a 503)."""
    kv = LevelDBStore(str(tmp_path / "db"))
    tree = StateTree(kv, b"s/", cache_nodes_max=1)  # every walk reaches the disk
    keys = [f"key-{n}".encode() for n in range(200)]
    overlay = tree.overlay()
    for key in keys:
        overlay.set(key, key + b"@0")
    kv.write(tree.commit(overlay))
    tree.committed(overlay)
    overlay = tree.overlay()
    for key in keys[::4]:
        overlay.set(key, key + b"@1")
    kv.write(tree.commit(overlay))  # in the store; the tree in memory is still the old one
    seen: dict[bytes, bytes | BaseException | None] = {}

    def reader() -> None:  # on another thread than the committer's, as the API reads
        for key in keys:
            try:
                seen[key] = tree.get(key)
            except BaseException as exc:
                seen[key] = exc

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join(timeout=30)
    try:
        assert seen == {key: key + (b"@1" if n % 4 == 0 else b"@0")
                        for n, key in enumerate(keys)}
    finally:
        tree.committed(overlay)
        kv.close()

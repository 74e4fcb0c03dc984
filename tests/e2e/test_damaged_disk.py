"""A real `senim node` on a damaged disk refuses to start or serves only correct answers.

A lone validator's store is built in-process with the real Chain (accreditation,
a batch of two credentials, one revoked, then anchors), in two sessions so it
has both LevelDB table files and a log. Each case copies it into the node's
data dir, damages it, and starts the real process: a refusal must be a
non-zero exit with one line saying why; a node that starts must answer every
question as the undamaged node did or with an error, and never call the
revoked credential valid; `senim fsck` must then report the damage.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from ledger.payloads import (
    AccreditPayload,
    AnchorPayload,
    CredentialRef,
    IssueBatchPayload,
    Payload,
    RevokePayload,
)
from ledger.transactions import (
    Transaction,
    build_transaction,
)
from storage.batch_tree import audit_path
from storage.kv import LevelDBStore
from tests.e2e.harness import Consortium, Member, NodeExited, NodeProcess, http
from tests.node.certificates import make_certificate

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SEED = 20_261_130
TABLE_FLIPS = 3
EXIT_STORE_DAMAGED = 3  # node.daemon.run's exit code for a damaged chain database
MEMBERS = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True),
           Member("enu", "ENU", "university")]
BLOCKS_PER_SESSION = 8


@dataclass
class Built:
    net: Consortium
    pristine: Path
    documents: list[dict[str, Any]]  # [revoked, valid]
    height: int
    answers: dict[str, tuple[int, Any]]  # path -> (HTTP status, JSON) of the sound node


def _commit(chain: Chain, validator: KeyPair, txs: list[Transaction]) -> None:
    execution = chain.build(txs, validator.member_id, 0, chain.head_header.time_ms + 1_000)
    assert not execution.rejected, execution.rejected
    header = execution.header
    chain.commit(execution, make_certificate(validator, chain.chain_id, header.height, 0,
                                             header.block_hash))


def _build_store(net: Consortium, path: Path) -> list[dict[str, Any]]:
    ministry, university = net.keys("mshe"), net.keys("enu")

    def tx(keys: KeyPair, payload: Payload) -> Transaction:
        return build_transaction(keys, net.chain_id, payload, 1_000)

    genesis = net.genesis()
    kv = LevelDBStore(str(path))
    chain = Chain(kv, genesis)
    start = genesis.genesis_time_ms
    _commit(chain, ministry, [tx(ministry, AccreditPayload(university.member_id, ("diploma",),
                                                           start, start + 10**12))])
    batch = make_batch([{"name": "Aigerim", "iin": "990101400123"},
                        {"name": "Daniyar", "iin": "980202300456"}], "diploma", net.chain_id,
                       university.member_id, "ENU")
    _commit(chain, ministry, [tx(university, IssueBatchPayload("diploma", batch.root, 2))])
    _commit(chain, ministry, [tx(university, RevokePayload(CredentialRef(
        batch.root, batch.target_hashes[0], 0,
        tuple(audit_path(list(batch.target_hashes), 0))), "issued_in_error"))])
    for session in range(2):
        if session:
            kv.close()
            kv = LevelDBStore(str(path))  # opening folds the log into a table file
            chain = Chain(kv, genesis)
        for _ in range(BLOCKS_PER_SESSION):
            _commit(chain, ministry, [tx(ministry, AnchorPayload(os.urandom(32)))
                                      for _ in range(3)])
    kv.close()
    documents = batch.documents
    return list(documents() if callable(documents) else documents)


def _questions(built: Built) -> list[tuple[str, str, Any]]:
    asked: list[tuple[str, str, Any]] = [("GET", f"/v1/blocks/{h}", None)
                                         for h in range(built.height + 1)]
    asked += [("POST", "/v1/verify", document) for document in built.documents]
    return asked


def _ask(node: NodeProcess, method: str, path: str, body: Any) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    status, _headers, answer = http(method, node.url + path, data, timeout_s=15.0)
    return status, json.loads(answer)


def _install(built: Built) -> NodeProcess:
    node = built.net.node("mshe")
    shutil.rmtree(node.data_dir, ignore_errors=True)
    shutil.copytree(built.pristine, node.data_dir)
    return node


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("disk")
    with Consortium(root, MEMBERS, genesis_via_cli=False) as net:
        pristine = root / "pristine"
        pristine.mkdir()
        documents = _build_store(net, pristine / "chain.ldb")
        built = Built(net, pristine, documents, 3 + 2 * BLOCKS_PER_SESSION, {})
        node = _install(built)
        assert net.cli("fsck", "--config", str(node.config_path)).returncode == 0
        net.start("mshe")
        running = net.cli("fsck", "--config", str(node.config_path), check=False)
        assert running.returncode == 2, running.stderr
        assert (f"is in use by process {node.pid} (" in running.stderr
                and "senim node --config" in running.stderr), running.stderr
        for method, path, body in _questions(built):
            built.answers[f"{method} {path} {json.dumps(body)}"] = _ask(node, method, path, body)
        assert node.stop() == 0, node.log_tail()
        verdicts = [built.answers[f"POST /v1/verify {json.dumps(d)}"][1]["status"]
                    for d in documents]
        assert verdicts == ["revoked", "valid"]
        yield built


def _store(node: NodeProcess) -> Path:
    return node.data_dir / "chain.ldb"


def _only(store: Path, suffix: str) -> Path:
    (found,) = [path for path in store.iterdir() if path.name.endswith(suffix)]
    return found


def _refusal(built: Built, node: NodeProcess) -> str:
    """Start the node and insist it refuses: exit code, then its one line of reason."""
    log_size = len(node.log_text())
    with pytest.raises(NodeExited) as exited:
        built.net.start("mshe", port_retries=0)
    assert exited.value.code == EXIT_STORE_DAMAGED, node.log_tail()
    said = node.log_text()[log_size:]
    assert "Traceback" not in said, said
    reasons = [line for line in said.splitlines() if "cannot start" in line]
    assert len(reasons) == 1, said
    return reasons[0]


def _fsck(built: Built, node: NodeProcess) -> tuple[int, str]:
    done = built.net.cli("fsck", "--config", str(node.config_path), check=False)
    assert "Traceback" not in done.stdout + done.stderr
    return done.returncode, done.stdout


def test_lost_current_file_is_refused_and_the_old_store_kept(built: Built) -> None:
    node = _install(built)
    (_store(node) / "CURRENT").unlink()
    before = sorted(path.name for path in _store(node).iterdir())
    assert "CURRENT file is missing" in _refusal(built, node)
    assert sorted(path.name for path in _store(node).iterdir()) == before
    code, said = _fsck(built, node)
    assert code == 1 and "does not open" in said


def test_flipped_bit_in_the_log_is_refused(built: Built) -> None:
    node = _install(built)
    log = _only(_store(node), ".log")
    rng = random.Random(SEED)
    position = rng.randrange(log.stat().st_size)
    with log.open("r+b") as file:
        file.seek(position)
        byte = file.read(1)[0]
        file.seek(position)
        file.write(bytes((byte ^ 0x10,)))
    assert "damaged" in _refusal(built, node)


def test_cut_short_log_is_refused(built: Built) -> None:
    node = _install(built)
    log = _only(_store(node), ".log")
    os.truncate(log, log.stat().st_size // 2)
    assert "acknowledged write" in _refusal(built, node)


def test_head_certificate_that_does_not_verify_is_refused(built: Built) -> None:
    node = _install(built)
    kv = LevelDBStore(str(_store(node)))
    kv.write({b"C" + built.height.to_bytes(8, "big"):
              kv.get(b"C" + (built.height - 1).to_bytes(8, "big"))})
    kv.close()
    assert "certificate" in _refusal(built, node)
    code, said = _fsck(built, node)
    assert code == 1 and f"block {built.height}: its certificate" in said


@pytest.mark.parametrize("case", range(TABLE_FLIPS))
def test_flipped_bit_in_a_table_is_refused_or_never_served(built: Built, case: int) -> None:
    node = _install(built)
    table = _only(_store(node), ".ldb")
    rng = random.Random(f"{SEED}-{case}")
    position, bit = rng.randrange(table.stat().st_size), rng.randrange(8)
    with table.open("r+b") as file:
        file.seek(position)
        byte = file.read(1)[0]
        file.seek(position)
        file.write(bytes((byte ^ (1 << bit),)))
    try:
        built.net.start("mshe", port_retries=0)
    except NodeExited as exited:
        assert exited.code == EXIT_STORE_DAMAGED, node.log_tail()
        return
    refused = 0
    for method, path, body in _questions(built):
        status, answer = _ask(node, method, path, body)
        expected = built.answers[f"{method} {path} {json.dumps(body)}"]
        if status == 200:
            assert (status, answer) == expected, f"byte {position} bit {bit}: {path} differs"
        else:
            assert "error" in answer
            refused += 1
    assert node.stop() == 0, node.log_tail()
    code, said = _fsck(built, node)
    if refused:
        assert code == 1, said
    assert code in (0, 1), said

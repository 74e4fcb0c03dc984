"""`senim key rotate | report-compromise`, then `senim verify --offline` says which
credentials the stolen key signed before and after the reported height."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cli.keys
from cli.main import main
from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.offline import make_bundle, proof_keys
from ledger.payloads import IssueBatchPayload, Payload
from ledger.rules import load_member
from ledger.transactions import Transaction, build_transaction
from node.files import load_key, save_key
from storage.kv import MemoryStore
from tests.node.conftest import (
    CHAIN_ID,
    DEFAULT_EXPIRY,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
    next_time,
)

RECORDS = [{"full_name": f"Graduate {i}", "iin": f"{i:012d}", "gpa": "3.2"} for i in range(2)]


class ChainNode:
    """Stands in for NodeClient: every submitted transaction goes into the next block."""

    chain: Chain

    def __init__(self, _url: str) -> None:
        pass

    def status(self) -> dict[str, Any]:
        return {"chain_id": self.chain.chain_id, "height": self.chain.height}

    def make_tx(self, keys: Any, payload: Payload) -> Transaction:
        return build_transaction(keys, self.chain.chain_id, payload, DEFAULT_EXPIRY)

    def submit_and_wait(self, tx: Transaction, timeout_s: float = 60.0) -> dict[str, Any]:
        execution = self.chain.build([tx], self.chain.genesis.members[0].member_id, 0,
                                     next_time(self.chain))
        if execution.rejected:
            return {"status": "rejected", "reason": execution.rejected[0][1].code}
        commit(self.chain, [tx])
        return {"status": "committed", "height": self.chain.height, "tx_id": tx.tx_id.hex()}


@pytest.fixture
def net() -> Consortium:
    return make_consortium()


@pytest.fixture
def node(net: Consortium, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chain]:
    kv = MemoryStore()
    chain = Chain(kv, net.genesis)
    ChainNode.chain = chain
    monkeypatch.setattr(cli.keys, "NodeClient", ChainNode)
    commit(chain, [accredit(net, net.university, ["diploma"])])
    yield chain
    kv.close()


def issue(chain: Chain, keys: Any) -> dict[str, Any]:
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, keys.member_id, "KazNU")
    commit(chain, [make_tx(keys, IssueBatchPayload("diploma", batch.root, len(RECORDS)))])
    return documents_of(batch)[0]


def with_proof(chain: Chain, document: dict[str, Any], net: Consortium, path: Path) -> Path:
    keys = proof_keys(bytes.fromhex(document["batch"]["root"]), net.university.member_id,
                      bytes.fromhex(document["target_hash"]), [net.ministry.member_id])
    header = chain.head_header
    bundle = make_bundle(chain.state, header, chain.get_certificate(header.height) or b"", keys)
    path.write_text(json.dumps({**document, "proof": bundle}))
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_rotate_then_report_splits_verify(tmp_path: Path, node: Chain, net: Consortium) -> None:
    chain = node
    save_key(tmp_path / "old.json", net.university)
    before = issue(chain, net.university)
    stolen_at = chain.height + 1
    after = issue(chain, net.university)  # the thief's, say

    done = run("key", "rotate", "--key", str(tmp_path / "old.json"), "--new-key",
               str(tmp_path / "new.json"))
    assert done.exit_code == 0, done.output
    assert "key rotated at height" in done.output
    # the node that runs the old key is to move to the new one, and when
    rotated = chain.height
    assert (f"restart its node with [node] key = \"{tmp_path / 'new.json'}\" once block "
            f"{rotated + 1} is committed.") in done.output
    assert (f"restart that node with {tmp_path / 'new.json'} now: its peers no longer admit "
            f"{tmp_path / 'old.json'}.") in done.output
    new = load_key(tmp_path / "new.json")
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o600
    assert new.member_id == net.university.member_id
    member = load_member(chain.state, net.university.member_id)
    assert member is not None and member.public_key == new.public_key

    done = run("key", "report-compromise", "--key", str(tmp_path / "new.json"), "--old-key",
               str(tmp_path / "old.json"), "--from-height", str(stolen_at))
    assert done.exit_code == 0, done.output

    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(net.genesis.to_json()))
    for document, code, word in ((before, 0, "VALID as of block 5 ("),
                                 (after, 1, "COMPROMISED_KEY:")):
        proved = with_proof(chain, document, net, tmp_path / f"{word}.json")
        done = run("verify", str(proved), "--offline", "--genesis", str(genesis))
        assert done.exit_code == code, done.output
        assert done.output.startswith(word), done.output
    assert f"reported stolen from height {stolen_at}" in done.output


@pytest.mark.parametrize("args, message", [
    (["--from-height", "0", "--old-public-key", "aa" * 32],
     "--from-height must be a block height"),
    (["--from-height", "soon", "--old-public-key", "aa" * 32],
     "--from-height must be a block height"),
    (["--from-height", "3", "--old-public-key", "abcd"],
     "--old-public-key must be 32 bytes (64 hex digits)"),
    (["--from-height", "3", "--old-public-key", "aa" * 32, "--old-key", "x.json"],
     "exactly one of"),
    (["--from-height", "3"], "exactly one of"),
])
def test_report_bad_input_is_one_line(tmp_path: Path, node: Chain, net: Consortium,
                                      args: list[str], message: str) -> None:
    save_key(tmp_path / "key.json", net.university)
    before = node.state.root
    done = run("key", "report-compromise", "--key", str(tmp_path / "key.json"), *args)
    assert done.exit_code == 2, done.output
    assert done.output.strip().count("\n") == 0 and message in done.output, done.output
    assert node.state.root == before


def test_refusals_are_one_line_and_change_nothing(tmp_path: Path, node: Chain,
                                                  net: Consortium) -> None:
    save_key(tmp_path / "key.json", net.university)
    save_key(tmp_path / "other.json", net.university2)
    before = node.state.root
    # the current key cannot be reported
    done = run("key", "report-compromise", "--key", str(tmp_path / "key.json"),
               "--old-key", str(tmp_path / "key.json"), "--from-height", "1")
    assert done.exit_code == 2 and "rotate away from it first" in done.output
    # a key the member never held: the ledger refuses it
    done = run("key", "report-compromise", "--key", str(tmp_path / "key.json"),
               "--old-key", str(tmp_path / "other.json"), "--from-height", "1")
    assert done.exit_code == 1 and "unknown_key" in done.output, done.output
    # rotating to another member's key
    done = run("key", "rotate", "--key", str(tmp_path / "key.json"),
               "--new-key", str(tmp_path / "other.json"))
    assert done.exit_code == 1 and "key_in_use" in done.output, done.output
    # rotating to the key in use
    done = run("key", "rotate", "--key", str(tmp_path / "key.json"),
               "--new-key", str(tmp_path / "key.json"))
    assert done.exit_code == 2 and "holds the current key" in done.output, done.output
    (tmp_path / "bad.json").write_text("{}")
    done = run("key", "rotate", "--key", str(tmp_path / "bad.json"),
               "--new-key", str(tmp_path / "n.json"))
    assert done.exit_code == 2 and "not a Senim key file" in done.output, done.output
    assert node.state.root == before


def test_keygen_on_a_full_disk_says_so_and_leaves_no_key_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It said '… exists; refusing to overwrite a key' of the empty file it had just made,
    and that file then stopped every later try (and a node, as an unreadable key)."""
    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", disk_full)
    path = tmp_path / "keys" / "me.key"
    done = CliRunner().invoke(main, ["keygen", str(path)])
    assert done.exit_code == 2, done.output
    assert done.output.strip() == (f"error: cannot write the key file {path}: "
                                   "No space left on device")
    assert not path.exists()
    monkeypatch.undo()
    again = CliRunner().invoke(main, ["keygen", str(path)])
    assert again.exit_code == 0, again.output
    assert load_key(path).public_key.hex() in again.output


def test_keygen_given_a_folder_asks_for_the_file_path(tmp_path: Path) -> None:
    """It said '<folder> exists; refusing to overwrite a key', as if a key were there."""
    (tmp_path / "keys").mkdir()
    done = CliRunner().invoke(main, ["keygen", str(tmp_path / "keys")])
    assert done.exit_code == 2, done.output
    assert done.output.strip() == (f"error: {tmp_path / 'keys'} is a folder: give the key "
                                   f"file's own path, e.g. {tmp_path / 'keys' / 'me.key'}")
    assert list((tmp_path / "keys").iterdir()) == []


def test_keygen_under_a_file_says_that_file_is_no_folder(tmp_path: Path) -> None:
    """`senim keygen notes.txt/me.key` said 'notes.txt/me.key exists; refusing to
    overwrite a key': nothing of that name exists; its folder is a file."""
    (tmp_path / "notes.txt").write_text("")
    result = CliRunner().invoke(main, ["keygen", str(tmp_path / "notes.txt" / "me.key")])
    assert result.exit_code == 2, result.output
    assert result.output == (f"error: cannot write the key file {tmp_path}/notes.txt/me.key: "
                             f"{tmp_path}/notes.txt is no folder\n")

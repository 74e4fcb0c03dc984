"""`senim key rotate` through the member's own node when that node cannot learn the outcome
(it does not validate and signs with the key rotated away from: its peers drop it in the
block that commits the rotation). Stand-in nodes: the own node answers "pending" for good,
as the real one does (tests/e2e/test_rotation_own_node.py runs real ones). It said
"not committed yet (pending)" of a rotation that was in."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

import cli.key_rotation
import cli.keys
from cli.client import ClientError, NodeClient
from cli.main import main
from ledger.identity import KeyPair
from ledger.payloads import Payload
from ledger.transactions import Transaction, build_transaction
from node.files import load_key, save_key
from tests.cli.test_verifier_lines_translated import english_in

OWN, OTHER = "http://127.0.0.1:23901", "http://127.0.0.1:23902"
DOWN, STRANGER = "http://127.0.0.1:23903", "http://127.0.0.1:23904"
REFUSING, GARBLED = "http://127.0.0.1:23905", "http://127.0.0.1:23906"
COMMITTED_AT = 7


class OwnNode:
    """The member's node: signs with the member's old key, validates nothing, and never
    hears of the rotation it passed on."""

    signing_key: bytes = b""
    validator = False
    sent: ClassVar[list[str]] = []

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        assert url == OWN, url

    def status(self) -> dict[str, Any]:
        return {"chain_id": "senim-test", "height": COMMITTED_AT - 1,
                "public_key": self.signing_key.hex(), "validator": self.validator}

    def make_tx(self, keys: KeyPair, payload: Payload) -> Transaction:
        return build_transaction(keys, "senim-test", payload, 100)

    def submit_and_wait(self, tx: Transaction, timeout_s: float = 60.0) -> dict[str, Any]:
        OwnNode.sent.append(tx.tx_id.hex())
        return {"status": "pending", "tx_id": tx.tx_id.hex()}


class OtherNode:
    """Another member's node, which committed the rotation; at DOWN none answers, at
    STRANGER a node of another chain."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        self.url = url

    def status(self) -> dict[str, Any]:
        if self.url not in (OTHER, DOWN, STRANGER, REFUSING, GARBLED):  # no URL
            return NodeClient(self.url).status()  # the client's own refusal
        if self.url == DOWN:
            raise ClientError("connection refused", "unreachable")
        if self.url == GARBLED:
            return {"chain": "senim-test"}  # no chain_id: no Senim node's answer
        return {"chain_id": "senim-other" if self.url == STRANGER else "senim-test"}

    def wait(self, tx_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        assert tx_id == OwnNode.sent[-1]
        if self.url == REFUSING:  # a block took a rotation of the same key first
            return {"status": "rejected", "tx_id": tx_id, "code": "stale_key",
                    "reason": "the key rotated away before this rotation"}
        return {"status": "committed", "height": COMMITTED_AT, "tx_id": tx_id}


@pytest.fixture
def old_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "kaznu.key"
    save_key(path, KeyPair.generate(), "KazNU")
    OwnNode.signing_key, OwnNode.validator = load_key(path).public_key, False
    monkeypatch.setattr(cli.keys, "NodeClient", OwnNode)
    monkeypatch.setattr(cli.key_rotation, "NodeClient", OtherNode)
    return path


def _rotate(old_key: Path, language: str, *more: str) -> tuple[int, str, str]:
    new = old_key.parent / f"kaznu-{language}.key"
    done = CliRunner().invoke(main, ["key", "rotate", "--key", str(old_key), "--new-key",
                                     str(new), "--node", OWN, *more, "--lang", language])
    # the new key file is written before anything is asked (cli.key_replacement.new_key_file)
    return done.exit_code, done.output, load_key(new).public_key.hex()


SAID = {  # the command's line naming the node to restart, in each language
    "en": "{node} still signs with {old}'s key, which its peers no longer admit: restart it "
          'now with [node] key = "{new}" (public key {public}…)',
    "kk": "{node} әлі де {old} файлындағы кілтпен қол қояды, оны басқа түйіндер енді "
          'қабылдамайды: түйінді қазір [node] key = "{new}" баптауымен қайта іске қосыңыз '
          "(ашық кілт {public}…)",
    "ru": "{node} по-прежнему подписывает ключом из {old}, который другие узлы больше не "
          'принимают: перезапустите его сейчас с [node] key = "{new}" (открытый ключ '
          "{public}…)",
}


@pytest.mark.parametrize("language", ["en", "kk", "ru"])
def test_another_node_says_the_rotation_committed(old_key: Path, language: str) -> None:
    code, output, public = _rotate(old_key, language, "--check-node", OTHER)
    assert code == 0, output
    assert str(COMMITTED_AT) in output.splitlines()[1], output  # key rotated at height 7
    new = old_key.parent / f"kaznu-{language}.key"
    assert SAID[language].format(node=OWN, old=old_key, new=new, public=public[:16]) in output
    if language != "en":
        assert not english_in(output), output


@pytest.mark.parametrize("language", ["en", "kk", "ru"])
def test_without_another_node_it_says_why_this_one_cannot_tell(old_key: Path,
                                                                language: str) -> None:
    code, output, public = _rotate(old_key, language)
    assert code == 75, output
    assert "pending" not in output and "ожидает" not in output and "кезекте" not in output
    assert "senim members --node URL" in output and public[:16] in output, output
    assert "--check-node URL" in output.splitlines()[0], output  # said before sending
    if language != "en":
        assert not english_in(output), output


def test_a_node_that_can_tell_is_believed_as_before(old_key: Path) -> None:
    """A node signing with another key (or validating) hears the block: its pending is
    the plain one, and no other node is asked."""
    OwnNode.validator = True
    code, output, _ = _rotate(old_key, "en", "--check-node", OTHER)
    assert code == 75 and "key rotation not committed yet (pending)" in output, output


@pytest.mark.parametrize(("check_node", "code", "said"), [
    ("127.0.0.1:23902", 2, "127.0.0.1:23902"),  # no scheme: said as --node's would be
    (DOWN, 3, f"--check-node {DOWN}: "),
    (STRANGER, 2, f"--check-node {STRANGER} is not a node of this chain (senim-test): "
                  "nothing was sent"),
    # it was said to be of another chain
    (GARBLED, 3, f"{GARBLED} sent a malformed answer: is it a Senim node?"),
])
def test_a_check_node_that_cannot_answer_is_said_before_anything_is_sent(
        old_key: Path, check_node: str, code: int, said: str) -> None:
    sent = len(OwnNode.sent)
    exit_code, output, _ = _rotate(old_key, "en", "--check-node", check_node)
    assert exit_code == code and said in output, output
    assert len(OwnNode.sent) == sent, "the rotation was sent"


def test_a_check_node_that_saw_the_rotation_refused_is_believed(old_key: Path) -> None:
    """Only a committed answer was taken: a check node's final refusal was passed over, and
    the operator was told no node could tell (exit 75) when one had."""
    code, output, _ = _rotate(old_key, "en", "--check-node", REFUSING)
    assert code == 1, output
    assert "key rotation not committed: the key rotated away before this rotation" in output
    assert "cannot tell" not in output, output

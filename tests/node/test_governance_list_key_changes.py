"""`senim governance list` and `GET /v1/governance` of a validator's key replaced by the
ministries (`replace_key`): the set it writes names the same members and keys as a rotation's
would, and the list said "key rotation" of it, as though the member had changed its key
itself. It now says a replacement as one (the block of its approval, the height the earlier
keys are distrusted from) and a rotation as a rotation, in kk, ru and en."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.chain import Chain
from ledger.identity import KeyPair
from ledger.key_events import prove_possession, prove_replacement
from ledger.payloads import ReplaceKeyAction, RotateKeyPayload, VotePayload
from ledger.rules_version import KEY_REPLACEMENT_FROM, MAX_KNOWN_RULES_VERSION
from node.governance_view import governance_json
from storage.kv import MemoryStore
from tests.node.conftest import commit, make_tx
from tests.node.test_governance import Council, make_council, proposal
from tests.node.test_governance_cli import _ChainClient, chain_client

__all__ = ["chain_client"]  # the fixture, used by name

REPLACED = {
    "en": "; key replaced by governance at block {h}, earlier keys distrusted from block "
          "{since}: Ministry of Science {old}… → {new}….",
    "kk": "; кілтті министрліктер дауыс беру арқылы {h}-блокта алмастырды, бұрынғы "
          "кілттерге {since}-блоктан бастап сенім жоқ: Ministry of Science {old}… → {new}….",
    "ru": "; ключ заменён решением министерств в блоке {h}, прежним ключам нет доверия с "
          "блока {since}: Ministry of Science {old}… → {new}….",
}
REPLACED_TRUSTED = {
    "en": "; key replaced by governance at block {h}: Ministry of Science {old}… → {new}….",
    "kk": "; кілтті министрліктер дауыс беру арқылы {h}-блокта алмастырды: Ministry of "
          "Science {old}… → {new}….",
    "ru": "; ключ заменён решением министерств в блоке {h}: Ministry of Science {old}… → "
          "{new}….",
}
ROTATED = {"en": "; key rotation: Ministry of Science {old}… → {new}….",
           "kk": "; кілт ауыстыру: Ministry of Science {old}… → {new}….",
           "ru": "; смена ключа: Ministry of Science {old}… → {new}…."}
NOT_SAID = {
    "en": "; key change (whether rotated by its member or replaced by governance, this node "
          "does not say): Ministry of Science {old}… → {new}….",
    "kk": "; кілт өзгерді (оны мүшенің өзі ауыстырды ма, әлде министрліктер дауыс беру "
          "арқылы алмастырды ма, бұл түйін айтпайды): Ministry of Science {old}… → {new}….",
    "ru": "; ключ изменён (сменил ли его сам участник или заменили министерства "
          "голосованием, этот узел не сообщает): Ministry of Science {old}… → {new}….",
}
LANGUAGES = ["en", "kk", "ru"]


@pytest.fixture(params=[KEY_REPLACEMENT_FROM, MAX_KNOWN_RULES_VERSION])
def council(request: pytest.FixtureRequest) -> Iterator[Council]:
    """A council whose chain runs rules version 7 (replacements recorded by their
    proposals only) or the newest (`g:replaced:` too)."""
    yield make_council(rules_version=request.param)


def _replace(chain: Chain, council: Council, compromised_from: int | None) -> KeyPair:
    """The ministries (not the member itself) replace the Ministry of Science's key."""
    new = KeyPair.generate()
    member = council.ministry.member_id
    action = ReplaceKeyAction(member, new.public_key,
                              prove_replacement(new, chain.chain_id, member), compromised_from)
    propose = proposal(council.ministry2, action, chain.height + 10, chain.height + 8)
    commit(chain, [propose])
    commit(chain, [make_tx(council.ministry3, VotePayload(propose.tx_id))])
    return new


def _rotate(chain: Chain, council: Council, current: KeyPair | None = None) -> KeyPair:
    """The Ministry of Science rotates from `current` (its genesis key by default)."""
    new = KeyPair.from_seed(KeyPair.generate().seed, council.ministry.member_id)
    proof = prove_possession(new, chain.chain_id, council.ministry.member_id)
    commit(chain, [make_tx(current or council.ministry,
                           RotateKeyPayload(new.public_key, proof))])
    return new


def _changed_line(language: str) -> str:
    done = CliRunner().invoke(main, ["governance", "list", "--lang", language])
    assert done.exit_code == 0, done.output
    changed = [line for line in done.output.splitlines() if "→" in line]
    assert len(changed) == 1, done.output  # the genesis set, listed first, is said as before
    return changed[0]


def _ministry_in_newest_set(chain: Chain) -> dict[str, Any]:
    sets = governance_json(chain.state, chain.height)["validator_sets"]
    return next(v for v in sets[-1]["validators"] if v["name"] == "Ministry of Science")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_replacement_is_said_as_one_with_its_heights(
        council: Council, chain_client: type[_ChainClient], language: str) -> None:
    chain = chain_client.chain
    commit(chain, [])
    new = _replace(chain, council, compromised_from=2)
    approved = chain.height
    line = _changed_line(language)
    said = REPLACED[language].format(h=approved, since=2, new=new.public_key.hex()[:8],
                                     old=council.ministry.public_key.hex()[:8])
    assert line.endswith(said), line
    assert ROTATED[language].split(":")[0] not in line, line  # not said a rotation


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_replacement_distrusting_nothing_says_no_height(
        council: Council, chain_client: type[_ChainClient], language: str) -> None:
    chain = chain_client.chain
    new = _replace(chain, council, compromised_from=None)
    said = REPLACED_TRUSTED[language].format(h=chain.height, new=new.public_key.hex()[:8],
                                             old=council.ministry.public_key.hex()[:8])
    assert _changed_line(language).endswith(said)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_rotation_after_a_replacement_is_said_as_a_rotation(
        council: Council, chain_client: type[_ChainClient], language: str) -> None:
    """The member, given a new key by the ministries, rotates it itself a block later:
    one set says the replacement, the next the rotation."""
    chain = chain_client.chain
    given = _replace(chain, council, compromised_from=None)
    replaced_at = chain.height
    new = _rotate(chain, council, KeyPair.from_seed(given.seed, council.ministry.member_id))
    done = CliRunner().invoke(main, ["governance", "list", "--lang", language])
    changed = [line for line in done.output.splitlines() if "→" in line]
    assert len(changed) == 2, done.output
    old = council.ministry.public_key.hex()[:8]
    assert changed[0].endswith(REPLACED_TRUSTED[language].format(
        h=replaced_at, old=old, new=given.public_key.hex()[:8])), changed
    assert changed[1].endswith(ROTATED[language].format(old=given.public_key.hex()[:8],
                                                         new=new.public_key.hex()[:8])), changed


def test_the_api_says_how_each_set_key_came(council: Council) -> None:
    chain = Chain(MemoryStore(), council.genesis)
    first = _ministry_in_newest_set(chain)
    assert first["key_change"] is None  # its genesis key
    rotated = _rotate(chain, council)
    at = chain.height
    assert _ministry_in_newest_set(chain)["key_change"] == {
        "height": at, "by": "rotation", "distrusted_from": None, "proposal_id": None}
    replaced = _replace(chain, council, compromised_from=at)
    shown = _ministry_in_newest_set(chain)
    assert shown["public_key"] == replaced.public_key.hex()
    change = shown["key_change"]
    assert (change["height"], change["by"], change["distrusted_from"]) == (
        chain.height, "replacement", at)
    assert isinstance(change["proposal_id"], str) and len(change["proposal_id"]) == 64
    # the set of the rotation, still listed, keeps saying it was a rotation
    sets = governance_json(chain.state, chain.height)["validator_sets"]
    keys = {v["public_key"]: v["key_change"] for s in sets for v in s["validators"]}
    assert keys[rotated.public_key.hex()]["by"] == "rotation"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_node_that_names_keys_but_not_how_says_neither(
        council: Council, chain_client: type[_ChainClient], language: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A node of the release before this one gives each key without `key_change`: its
    change is said as a key change, neither a rotation nor a replacement."""
    new = _replace(chain_client.chain, council, compromised_from=None)
    answer = governance_json(chain_client.chain.state, chain_client.chain.height)
    for record in answer["validator_sets"]:
        for validator in record["validators"]:
            del validator["key_change"]
    monkeypatch.setattr(_ChainClient, "request", lambda self, method, path: answer)
    said = NOT_SAID[language].format(old=council.ministry.public_key.hex()[:8],
                                     new=new.public_key.hex()[:8])
    assert _changed_line(language).endswith(said)


def test_a_key_change_of_the_wrong_shape_is_a_malformed_answer(
        council: Council, chain_client: type[_ChainClient],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Said as one error line (exit 3), not a traceback nor a replacement at no block."""
    _replace(chain_client.chain, council, compromised_from=None)
    answer = governance_json(chain_client.chain.state, chain_client.chain.height)
    for validator in answer["validator_sets"][-1]["validators"]:
        if validator["name"] == "Ministry of Science":
            validator["key_change"] = {"by": "replacement", "height": "soon"}
    monkeypatch.setattr(_ChainClient, "request", lambda self, method, path: answer)
    done = CliRunner().invoke(main, ["governance", "list", "--lang", "en"])
    assert done.exit_code == 3, done.output
    assert "Traceback" not in done.output and "malformed" in done.output, done.output

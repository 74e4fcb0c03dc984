"""`key_change` past its bound: the chain keeps the latest MAX_RECENT_PROPOSALS proposals,
so a key change whose kind only a proposal told (a rotation before a later replacement of
the same member; any change under rules version 7, which recorded no `g:replaced:`) is
"unknown" once that many more proposals were made. `senim governance list`, `members` and
`status` say so in kk, ru and en, not as the older release's "this node does not say"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.chain import Chain
from ledger.governance import MAX_RECENT_PROPOSALS
from ledger.identity import KeyPair
from ledger.key_events import prove_possession, prove_replacement
from ledger.payloads import ACTION_RETIRE_MEMBER, ReplaceKeyAction, RotateKeyPayload, VotePayload
from ledger.rules_version import KEY_REPLACEMENT_FROM, MAX_KNOWN_RULES_VERSION
from node.key_changes import key_change
from storage.kv import MemoryStore
from tests.cli.test_ministry_languages import senim
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import CHAIN_ID, commit, keys_from, make_tx
from tests.node.test_governance import Council, make_council, member_action, proposal
from tests.node.test_governance_cli import _ChainClient, chain_client
from tests.node.test_stolen_key_records import rotated

__all__ = ["chain_client"]  # the fixture, used by name

PROPOSALS_PER_BLOCK = 4  # within a ministry's share of the open places
UNRECORDED = {
    "en": "; key change (whether rotated by its member or replaced by governance is no longer "
          "on record: the chain keeps only its latest proposals, at most 64): Ministry of "
          "Science {old}… → {new}….",
    "kk": "; кілт өзгерді (оны мүшенің өзі ауыстырды ма, әлде министрліктер дауыс беру "
          "арқылы алмастырды ма, енді белгісіз: тізбек тек соңғы ұсыныстарды сақтайды, ең "
          "көбі 64): Ministry of Science {old}… → {new}….",
    "ru": "; ключ изменён (сменил ли его сам участник или заменили министерства "
          "голосованием, уже не установить: цепочка хранит только последние предложения, не "
          "больше 64): Ministry of Science {old}… → {new}….",
}
MEMBERS_SAID = {
    "en": "    its key changed at block {h}, by its member or by governance: the chain no "
          "longer records which",
    "kk": "    оның кілті {h}-блокта өзгерді: мүшенің өзі ауыстырды ма, әлде министрліктер "
          "дауыс беру арқылы алмастырды ма, тізбек енді сақтамайды",
    "ru": "    его ключ изменён в блоке {h} самим участником или решением министерств: кем "
          "именно, цепочка уже не хранит",
}
STATUS_SAID = {
    "en": "(the member rotated away from it at block {h}, or the ministries replaced it "
          "then; the chain no longer records which)",
    "kk": "(мүше оны {h}-блокта ауыстырды немесе министрліктер сол блокта алмастырды; "
          "қайсысы екенін тізбек енді сақтамайды)",
    "ru": "(участник сменил его в блоке {h} или министерства тогда же заменили; что именно, "
          "цепочка уже не хранит)",
}
LANGUAGES = ["en", "kk", "ru"]


@pytest.fixture
def council() -> Iterator[Council]:
    """The newest rules: `g:replaced:` recorded, so only a change before a later
    replacement of its member can be unknown."""
    yield make_council(rules_version=MAX_KNOWN_RULES_VERSION)


def _fill_recent_proposals(chain: Chain, council: Council) -> None:
    """MAX_RECENT_PROPOSALS proposals, each open for its own block only (it expires
    unvoted), so that every earlier one has left the recent list."""
    made = 0
    while made < MAX_RECENT_PROPOSALS:
        height = chain.height + 1
        commit(chain, [proposal(council.ministry2,
                                member_action(ACTION_RETIRE_MEMBER, council.university),
                                height + 10 + n, height) for n in range(PROPOSALS_PER_BLOCK)])
        made += PROPOSALS_PER_BLOCK


def _rotate(chain: Chain, council: Council) -> KeyPair:
    """The Ministry of Science rotates from its genesis key. The key is one `keys_from`
    made, so that it certifies the blocks after (`tests.node.conftest.certifiers`)."""
    new = keys_from("ministry-rotated")
    member = council.ministry.member_id
    commit(chain, [make_tx(council.ministry, RotateKeyPayload(
        new.public_key, prove_possession(new, CHAIN_ID, member)))])
    return new


def _rotated_then_replaced(chain: Chain, council: Council) -> tuple[KeyPair, int, KeyPair]:
    """The Ministry of Science rotates its key, then the ministries replace it: the
    rotated key, the rotation's height, and the replacing key."""
    rotated_to = _rotate(chain, council)
    at = chain.height
    new = keys_from("ministry-replaced")
    member = council.ministry.member_id
    action = ReplaceKeyAction(member, new.public_key,
                              prove_replacement(new, CHAIN_ID, member), None)
    propose = proposal(council.ministry2, action, chain.height + 10, chain.height + 8)
    commit(chain, [propose])
    commit(chain, [make_tx(council.ministry3, VotePayload(propose.tx_id))])
    return rotated_to, at, new


def test_a_rotation_before_a_replacement_is_unknown_past_the_bound(council: Council) -> None:
    chain = Chain(MemoryStore(), council.genesis)
    rotated, at, replacing = _rotated_then_replaced(chain, council)
    member = council.ministry.member_id
    assert key_change(chain.state, member, rotated.public_key) == {
        "height": at, "by": "rotation", "distrusted_from": None, "proposal_id": None}
    replaced_at = chain.height
    _fill_recent_proposals(chain, council)
    assert key_change(chain.state, member, rotated.public_key) == {
        "height": at, "by": "unknown", "distrusted_from": None, "proposal_id": None}
    # the last replacement is recorded apart from its proposal: still said, without it
    assert key_change(chain.state, member, replacing.public_key) == {
        "height": replaced_at, "by": "replacement", "distrusted_from": None,
        "proposal_id": None}


def test_under_version_7_a_rotation_is_unknown_past_the_bound() -> None:
    """Version 7 recorded replacements by their proposals only: with the list full, no
    change of a key can be told a rotation."""
    council = make_council(rules_version=KEY_REPLACEMENT_FROM)
    chain = Chain(MemoryStore(), council.genesis)
    rotated = _rotate(chain, council)
    at = chain.height
    _fill_recent_proposals(chain, council)
    change = key_change(chain.state, council.ministry.member_id, rotated.public_key)
    assert change is not None and (change["height"], change["by"]) == (at, "unknown")


@pytest.mark.parametrize("language", LANGUAGES)
def test_governance_list_says_an_unrecorded_key_change(
        council: Council, chain_client: type[_ChainClient], language: str) -> None:
    chain = chain_client.chain
    rotated, _, _ = _rotated_then_replaced(chain, council)
    _fill_recent_proposals(chain, council)
    done = CliRunner().invoke(main, ["governance", "list", "--lang", language])
    assert done.exit_code == 0, done.output
    changed = [line for line in done.output.splitlines() if "→" in line]
    assert len(changed) == 2, done.output  # the rotation's set, then the replacement's
    assert changed[0].endswith(UNRECORDED[language].format(
        old=council.ministry.public_key.hex()[:8], new=rotated.public_key.hex()[:8])), changed


@pytest.mark.parametrize("language", LANGUAGES)
async def test_members_and_status_say_an_unrecorded_key_change(language: str) -> None:
    """Under version 7 the University's own node, still signing with its first key after
    the member rotated away from it, and the member list each say the change as one the
    chain no longer tells the kind of."""
    council = make_council(rules_version=KEY_REPLACEMENT_FROM)
    core = api_core(council.university, council.genesis, MemoryStore())
    rotated(core.chain, council.university)
    at = core.chain.height
    _fill_recent_proposals(core.chain, council)
    async with serving_url(core) as url:
        members = await senim("members", "--node", url, "--lang", language)
        status = await senim("status", "--node", url, "--lang", language)
    assert members.exit_code == 0, members.output
    assert MEMBERS_SAID[language].format(h=at) in members.output.splitlines(), members.output
    assert status.exit_code == 0, status.output
    assert STATUS_SAID[language].format(h=at) in status.output, status.output


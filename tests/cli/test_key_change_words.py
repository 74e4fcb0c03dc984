"""`senim members` and `senim status` of a member's key replaced by the ministries
(`replace_key`), in kk, ru and en: `members` said nothing of it, and `status` on the node
still signing with the key said "the member rotated away from it, or the ministries replaced
it" whichever it was (`GET /v1/members` now gives each member's `key_change`)."""

from __future__ import annotations

import pytest

from ledger.identity import KeyPair
from ledger.key_events import prove_replacement
from ledger.payloads import ProposePayload, ReplaceKeyAction, VotePayload
from ledger.rules_version import MAX_KNOWN_RULES_VERSION
from node.service import NodeCore
from storage.kv import MemoryStore
from tests.cli.test_ministry_languages import senim
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import commit, make_tx
from tests.node.test_governance import Council, make_council
from tests.node.test_stolen_key_records import rotated

MEMBERS_SAID = {
    "en": "    its key was replaced by governance at block {h}; its earlier keys are "
          "distrusted from block {since}",
    "kk": "    оның кілтін министрліктер {h}-блокта дауыс беру арқылы алмастырды; бұрынғы "
          "кілттеріне {since}-блоктан бастап сенім жоқ",
    "ru": "    его ключ заменён решением министерств в блоке {h}; его прежним ключам нет "
          "доверия с блока {since}",
}
STATUS_REPLACED = {
    "en": "(the ministries replaced it by governance at block {h})",
    "kk": "(министрліктер оны {h}-блокта дауыс беру арқылы алмастырды)",
    "ru": "(министерства заменили его голосованием в блоке {h})",
}
STATUS_ROTATED = {"en": "(the member rotated away from it at block {h})",
                  "kk": "(мүше оны {h}-блокта ауыстырды)",
                  "ru": "(участник сменил его в блоке {h})"}
LANGUAGES = ["en", "kk", "ru"]


def _replaced(core: NodeCore, council: Council, compromised_from: int) -> None:
    """The ministries replace KazNU's key (its node, `core`, keeps signing with the old)."""
    new = KeyPair.generate()
    member = council.university.member_id
    action = ReplaceKeyAction(member, new.public_key,
                              prove_replacement(new, core.chain.chain_id, member),
                              compromised_from)
    height = core.chain.height
    propose = make_tx(council.ministry2, ProposePayload(action, height + 10, height + 8))
    commit(core.chain, [propose])
    commit(core.chain, [make_tx(council.ministry3, VotePayload(propose.tx_id))])


@pytest.mark.parametrize("language", LANGUAGES)
async def test_members_says_a_replacement(language: str) -> None:
    council = make_council(rules_version=MAX_KNOWN_RULES_VERSION)
    core = api_core(council.ministry, council.genesis, MemoryStore())
    commit(core.chain, [])
    _replaced(core, council, compromised_from=1)
    async with serving_url(core) as url:
        shown = await senim("members", "--node", url, "--lang", language)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    said = MEMBERS_SAID[language].format(h=core.chain.height, since=1)
    assert said in lines, shown.output
    assert lines.index(said) > next(i for i, x in enumerate(lines) if "KazNU" in x)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_status_says_the_ministries_replaced_the_nodes_key(language: str) -> None:
    council = make_council(rules_version=MAX_KNOWN_RULES_VERSION)
    core = api_core(council.university, council.genesis, MemoryStore())
    _replaced(core, council, compromised_from=1)
    async with serving_url(core) as url:
        shown = await senim("status", "--node", url, "--lang", language)
    assert shown.exit_code == 0, shown.output
    assert STATUS_REPLACED[language].format(h=core.chain.height) in shown.output, shown.output


@pytest.mark.parametrize("language", LANGUAGES)
async def test_status_says_the_member_rotated_the_nodes_key(language: str) -> None:
    council = make_council(rules_version=MAX_KNOWN_RULES_VERSION)
    core = api_core(council.university, council.genesis, MemoryStore())
    rotated(core.chain, council.university)
    async with serving_url(core) as url:
        shown = await senim("status", "--node", url, "--lang", language)
    assert shown.exit_code == 0, shown.output
    assert STATUS_ROTATED[language].format(h=core.chain.height) in shown.output, shown.output

"""From rules version 14 the ledger refuses a new member whose name reads as a member's
(`ledger.member_name_index`): a ministry's own add_member, governance's at proposal and at
its approving vote, and a genesis. Before it a ministry signing its own transaction
admitted a second "KazNU" (or "KаzNU", its "а" Cyrillic), and a verifier said "issued by
KazNU" of what the impostor issued. A chain under version 13 keeps what its release
accepted and its state roots; one upgraded by governance indexes its members at the first
block under version 14 and refuses from there a twin of a member admitted before."""

from __future__ import annotations

import pytest

from cli.language import Words
from cli.refusals import refusal
from ledger.chain import Chain
from ledger.chain_run import ChainRun
from ledger.errors import ConfigError
from ledger.genesis import genesis_from_json
from ledger.identity import MemberId
from ledger.member_name_index import (
    PREFIX_MEMBER_NAME,
    index_at_upgrade,
    member_name_keys,
    name_holder,
    name_index,
)
from ledger.payloads import RulesVersionAction, VotePayload
from ledger.payloads_consortium import ACTION_RETIRE_MEMBER
from ledger.records import Member, member_key
from ledger.rules import load_member
from ledger.rules_version import MEMBER_NAMES_UNIQUE_FROM
from storage.errors import CorruptStateError
from storage.kv import MemoryStore
from tests.node.conftest import (
    admission,
    admission_action,
    commit,
    commit_times,
    keys_from,
    make_tx,
)
from tests.node.test_governance import (
    Council,
    approve,
    commit_until,
    make_council,
    member_action,
    proposal,
)
from tests.node.test_ledger_refusals import assert_refused
from tests.node.test_old_chain_roots import _counted_nonces

BEFORE = MEMBER_NAMES_UNIQUE_FROM - 1
# What the release before version 14 (d7f6c64a, MAX_KNOWN_RULES_VERSION 13) computed for
# `_twins_at(13)`: this release's version 13 writes no index.
VERSION_13_ROOT = "530109d2527c39bbc9d0e40775b6384519f892d2ea16e335a99c72237f281cd3"
# The genesis member "KazNU" read: as typed, spaced and cased otherwise, and with Latin
# letters written in Cyrillic ("а", U+0430) and Greek ("Κ", U+039A)
KAZNU_READ_ALIKE = ["KazNU", "  kaznu ", "K\u0430zNU", "\u039aazNU",
                    "\uff2b\uff41\uff5a\uff2e\uff35",  # fullwidth
                    "\U0001d40a\U0001d41a\U0001d433\U0001d40d\U0001d414"]  # maths bold
# Each a name with a character nobody sees: zero-width space and joiner, NUL, a
# right-to-left override, private use, a line separator
INVISIBLE = ["Kaz\u200bNU", "KazNU\u200d", "Kaz\x00NU", "KazNU\u202e", "Kaz\ue000NU",
             "Kaz\u2028NU"]
# Cyrillic names that differ only in case: one name
CYRILLIC_CASES = [("КазНУ", "Казну"), ("КазНУ", "КАЗНУ"),
                  ("Казахский национальный университет", "КАЗАХСКИЙ НАЦИОНАЛЬНЫЙ УНИВЕРСИТЕТ")]


def _names(chain: Chain) -> list[tuple[bytes, bytes]]:
    return list(chain.state.items_with_prefix(PREFIX_MEMBER_NAME))


def _council_chain(version: int) -> tuple[Council, Chain]:
    council = make_council(rules_version=version)
    return council, Chain(MemoryStore(), council.genesis)


def _replayed(chain: Chain) -> None:
    """`chain`'s blocks validated afresh reach its state: one by one, and in sync runs."""
    alone, in_runs = Chain(MemoryStore(), chain.genesis), Chain(MemoryStore(), chain.genesis)
    run = in_runs.start_run()
    for height in range(1, chain.height + 1):
        block = chain.get_block(height)
        assert block is not None
        alone.commit(alone.validate(block, commit_times=commit_times(alone)),
                     _certificate(chain, height))
        if run.ended:
            _commit_run(in_runs, chain, run)
            run = in_runs.start_run()
        in_runs.validate(block, commit_times=commit_times(in_runs), run=run)
    _commit_run(in_runs, chain, run)
    assert alone.state.root == in_runs.state.root == chain.state.root


def _commit_run(replica: Chain, chain: Chain, run: ChainRun) -> None:
    replica.commit_run([(e, _certificate(chain, e.header.height)) for e in run.executions])


def _certificate(chain: Chain, height: int) -> bytes:
    certificate = chain.get_certificate(height)
    assert certificate is not None
    return certificate


@pytest.mark.parametrize("name", KAZNU_READ_ALIKE)
def test_a_ministrys_admission_of_a_name_read_as_a_members_is_refused(name: str) -> None:
    council, chain = _council_chain(MEMBER_NAMES_UNIQUE_FROM)
    refused = assert_refused(chain, make_tx(council.ministry, admission(
        keys_from("impostor"), name, "university")), "member_name_taken")
    assert refused.params == {"name": name, "member": "KazNU",
                              "member_id": council.university.member_id.hex()}
    assert f"member KazNU ({council.university.member_id.hex()})" in refused.message
    # a name of its own is taken
    commit(chain, [make_tx(council.ministry, admission(keys_from("impostor"), "KazNU Almaty",
                                                       "university"))])


@pytest.mark.parametrize("name", KAZNU_READ_ALIKE[1:])
def test_governance_refuses_it_when_proposed(name: str) -> None:
    council, chain = _council_chain(MEMBER_NAMES_UNIQUE_FROM)
    action = admission_action(keys_from("impostor"), name, "school")
    assert_refused(chain, proposal(council.ministry, action, chain.height + 10,
                                   chain.height + 8), "member_name_taken")


def test_governance_refuses_it_again_at_the_approving_vote() -> None:
    """Proposed while the name was free, approved after a ministry admitted it."""
    council, chain = _council_chain(MEMBER_NAMES_UNIQUE_FROM)
    propose = proposal(council.ministry, admission_action(keys_from("by_vote"), "Narxoz",
                                                          "university"), 20, 18)
    commit(chain, [propose])
    taker = keys_from("taker")
    commit(chain, [make_tx(council.ministry3, admission(taker, "NARXOZ", "university"))])
    refused = assert_refused(chain, make_tx(council.ministry2, VotePayload(propose.tx_id)),
                             "member_name_taken")
    assert refused.params["member_id"] == taker.member_id.hex()


def test_two_admissions_of_one_name_in_one_block_keep_the_first() -> None:
    council, chain = _council_chain(MEMBER_NAMES_UNIQUE_FROM)
    first, second = keys_from("first"), keys_from("second")
    execution = chain.build([make_tx(council.ministry, admission(first, "Satbayev", "school")),
                             make_tx(council.ministry2, admission(second, "satbayev", "school"))],
                            council.ministry.member_id, 0, chain.head_header.time_ms + 1)
    assert len(execution.accepted) == 1
    assert [e.code for _, e in execution.rejected] == ["member_name_taken"]


def _twins_at(version: int) -> Chain:
    """Members admitted under `version` whose names read as another's: a ministry's own
    admissions (one of a genesis member's name) and governance's."""
    council, chain = _council_chain(version)
    ministry = council.ministry
    commit(chain, [make_tx(ministry, admission(keys_from("aitu"), "Astana IT University",
                                               "university"))])
    commit(chain, [make_tx(ministry, admission(keys_from("aitu2"), " ASTANA  IT university",
                                               "university")),
                   make_tx(ministry, admission(keys_from("kaznu2"), "K\u0430zNU", "university"))])
    approve(chain, council, admission_action(keys_from("kaznu3"), "kaznu", "school"),
            chain.height + 6)
    commit_until(chain, chain.height + 6)
    return chain


def test_of_twins_admitted_at_one_height_the_lower_id_holds_the_name() -> None:
    one, other = sorted(MemberId(bytes([n]) * 20) for n in (7, 3))
    members = [(other, Member("Narxoz", "school", b"\x01" * 32, False, 5)),
               (one, Member("NARXOZ", "school", b"\x02" * 32, False, 5)),
               (other, Member("KBTU", "school", b"\x03" * 32, False, 4))]
    assert name_index(members) == {**dict.fromkeys(member_name_keys("narxoz"), one),
                                   **dict.fromkeys(member_name_keys("kbtu"), other)}


def test_version_13_keeps_admitting_twins_and_its_roots() -> None:
    with _counted_nonces():
        chain = _twins_at(BEFORE)
    for label in ("aitu2", "kaznu2", "kaznu3"):
        assert load_member(chain.state, keys_from(label).member_id) is not None
    assert _names(chain) == []
    assert chain.state.root.hex() == VERSION_13_ROOT
    _replayed(chain)


def test_an_upgraded_chain_indexes_its_members_at_the_first_block_under_the_version() -> None:
    chain = _twins_at(BEFORE)
    council = make_council(rules_version=BEFORE)
    effective = chain.height + 6
    approve(chain, council, RulesVersionAction(MEMBER_NAMES_UNIQUE_FROM), effective)
    commit_until(chain, effective - 1)
    assert _names(chain) == []  # nothing before the version's first block
    commit(chain, [])
    # every reading of every member's name, the twins' once: the first admitted holds it
    # (a genesis member before any other; of two admitted at one height, the lower id).
    # Beside the genesis members' (Latin: one reading each, two with an I or l, read as
    # "|"): "Astana IT University" (two), and "KаzNU" letter for letter (its "а"
    # Cyrillic), which its twin alone reads so.
    named = [m.name for m in council.genesis.members] + ["Astana IT University", "K\u0430zNU"]
    assert len(_names(chain)) == len({k for name in named for k in member_name_keys(name)})
    assert len(_names(chain)) == len(council.genesis.members) + 6
    assert chain.state.get(member_name_keys("K\u0430zNU")[0]) == keys_from("kaznu2").member_id
    assert name_holder(chain.state, "KAZNU") == council.university.member_id
    # (admitted at heights 1 and 2: the height decides, not the id)
    assert name_holder(chain.state, "astana it university") == keys_from("aitu").member_id
    # a twin of a member admitted before the upgrade, a third of twins, refused from here
    assert_refused(chain, make_tx(council.ministry, admission(
        keys_from("impostor"), "KazNU", "university")), "member_name_taken")
    refused = assert_refused(chain, make_tx(council.ministry, admission(
        keys_from("impostor"), "Astana IT Univ\u0435rsity", "university")), "member_name_taken")
    assert refused.params["member_id"] == keys_from("aitu").member_id.hex()
    commit(chain, [make_tx(council.ministry, admission(keys_from("new"), "Narxoz", "school"))])
    assert name_holder(chain.state, "narxoz") == keys_from("new").member_id
    _replayed(chain)  # a replica, by blocks and by sync runs, builds the same index


def test_a_genesis_under_the_version_writes_the_index_and_refuses_twin_names() -> None:
    council, chain = _council_chain(MEMBER_NAMES_UNIQUE_FROM)
    assert len(_names(chain)) == len(
        {k for member in council.genesis.members for k in member_name_keys(member.name)})
    assert name_holder(chain.state, "kaznu") == council.university.member_id
    document = council.genesis.to_json()
    document["members"].append({**document["members"][3], "name": "K\u0430zNU",
                                "public_key": keys_from("twin").public_key.hex()})
    del document["members"][-1]["member_id"]
    with pytest.raises(ConfigError) as raised:
        genesis_from_json(document)
    assert raised.value.code == "name_alike"
    assert raised.value.field == f"genesis.members[{len(council.genesis.members)}].name"
    assert raised.value.params["other"] == "'KazNU'"
    document["rules_version"] = BEFORE  # an older version's genesis keeps taking it
    assert len(genesis_from_json(document).members) == len(council.genesis.members) + 1


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_refusal_is_said_naming_the_member(lang: str) -> None:
    params: dict[str, str | int] = {"name": "KаzNU", "member": "KazNU",
                                    "member_id": MemberId(b"\x01" * 20).hex()}
    said = refusal("member_name_taken", "english", params).said(Words(lang))
    assert "«KazNU»" in said and "«KаzNU»" in said and "01" * 20 in said, said


@pytest.mark.parametrize(("first", "second"), CYRILLIC_CASES)
def test_a_cyrillic_name_in_another_case_is_refused(first: str, second: str) -> None:
    """Letters are mapped before case is folded: "КазНУ" read "kaзhy", "Казну" "kaзнy".
    The name letter for letter (`spaced`) is a reading too."""
    council, chain = _council_chain(MEMBER_NAMES_UNIQUE_FROM)
    holder = keys_from("holder")
    commit(chain, [make_tx(council.ministry, admission(holder, first, "university"))])
    refused = assert_refused(chain, make_tx(council.ministry2, admission(
        keys_from("twin"), second, "university")), "member_name_taken")
    assert refused.params["member_id"] == holder.member_id.hex()
    document = council.genesis.to_json()
    for label, name in (("one", first), ("two", second)):
        document["members"].append({**document["members"][3], "name": name,
                                    "public_key": keys_from(label).public_key.hex()})
        del document["members"][-1]["member_id"]
    with pytest.raises(ConfigError) as raised:
        genesis_from_json(document)
    assert raised.value.code == "name_alike"
    assert str(raised.value).endswith("rename one of the two")  # what to do


@pytest.mark.parametrize("name", INVISIBLE)
def test_a_name_holding_an_invisible_character_is_refused(name: str) -> None:
    council, chain = _council_chain(MEMBER_NAMES_UNIQUE_FROM)
    refused = assert_refused(chain, make_tx(council.ministry, admission(
        keys_from("hidden"), name, "university")), "member_name_invisible")
    assert refused.params["marks"] in {f"U+{ord(c):04X}" for c in name}
    assert_refused(chain, proposal(council.ministry, admission_action(
        keys_from("hidden"), name, "school"), chain.height + 10, chain.height + 8),
        "member_name_invisible")
    document = council.genesis.to_json()
    document["members"][3]["name"] = name
    with pytest.raises(ConfigError) as raised:
        genesis_from_json(document)
    assert raised.value.code == "name_invisible"
    document["rules_version"] = BEFORE  # an older version's genesis keeps taking it
    genesis_from_json(document)


def test_a_retired_members_name_is_refused_saying_it_is_retired() -> None:
    council, chain = _council_chain(MEMBER_NAMES_UNIQUE_FROM)
    approve(chain, council, member_action(ACTION_RETIRE_MEMBER, council.university),
            chain.height + 7)
    commit_until(chain, chain.height + 7)
    refused = assert_refused(chain, make_tx(council.ministry, admission(
        keys_from("heir"), "KazNU", "university")), "member_name_taken")
    retired = load_member(chain.state, council.university.member_id)
    assert retired is not None and retired.retired_height is not None
    assert refused.params["retired"] == retired.retired_height
    assert f"retired from height {retired.retired_height}" in refused.message
    assert "replace_key" in refused.message
    for lang in ("kk", "ru"):
        said = refusal("member_name_taken", refused.message, refused.params).said(Words(lang))
        assert str(retired.retired_height) in said and "replace_key" in said, said


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_invisible_refusal_is_said_naming_the_marks(lang: str) -> None:
    said = refusal("member_name_invisible", "english",
                   {"name": "Kaz\u200bNU", "marks": "U+200B"}).said(Words(lang))
    assert "U+200B" in said and "english" not in said, said


class _Written(dict[bytes, bytes]):
    """A state as `index_at_upgrade` reads it, with what it lists and what it finds."""

    def __init__(self, listed: dict[bytes, bytes], writes: int) -> None:
        super().__init__()
        self.listed, self.writes = listed, writes

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        return None  # no rules version change, and no member, in the tree

    def items_with_prefix(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        return [(k, v) for k, v in self.listed.items() if k.startswith(prefix)]

    def keys_changed(self) -> int:
        return self.writes


def test_the_upgrade_refuses_an_overlay_written_and_a_member_the_tree_lacks() -> None:
    """Invariants of the consensus path: raised, not asserted (gone under `python -O`),
    and a member listed but not found is not left out of the index."""
    listed = {member_key(MemberId(b"\x05" * 20)):
              Member("KazNU", "university", b"\x01" * 32, False, 0).encode()}
    with pytest.raises(RuntimeError, match="holds 1 writes"):
        index_at_upgrade(_Written({}, 1), _Written({}, 0),  # type: ignore[arg-type]
                         1, MEMBER_NAMES_UNIQUE_FROM)
    with pytest.raises(CorruptStateError, match="05" * 20):
        index_at_upgrade(_Written({}, 0), _Written(listed, 0),  # type: ignore[arg-type]
                         1, MEMBER_NAMES_UNIQUE_FROM)

"""The rules version: which ledger rules a block is executed under. Pure, over the state.

A change to the ledger rules that refuses what they accepted before (or the reverse)
changes which blocks are valid: a node of the new release replaying a chain that holds
what the old rules accepted would refuse a committed block, and a network of two
releases would split on the first such block. So each such change is gated: it applies
from a rules version on, and the version in force is state, scheduled by governance
(`ledger.governance`, the action `set_rules_version`) from an effective height, like any
other consortium change. A chain and every block before that height keep the old rules.

A release executes the versions up to MAX_KNOWN_RULES_VERSION. A block under a later
version is not judged at all (`require_known_rules` raises RulesVersionUnknown, which is
no verdict on the block): a node that meets one stops there until its operator upgrades,
rather than execute it under rules the rest of the network no longer runs.

State key (under the Merkle root): `g:rules`, the changes as [[from_height, version], ...]
in height order. A chain whose genesis states no version holds no such key until
governance schedules one: version 1 from genesis, so that every chain made before
versions existed keeps its state root.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ledger.codec import decode, encode
from ledger.errors import MalformedInput, RulesVersionUnknown, TxRejected

RULES_VERSION_KEY = b"g:rules"
GENESIS_RULES_VERSION = 1  # a genesis that states no version
MAX_RULES_VERSION = 1_000_000  # what a genesis file or proposal may name at all

# The versions this release executes: 1 and the gated changes below.
MAX_KNOWN_RULES_VERSION = 14

# From this version on, a proposal identical to an open one is refused
# (`ledger.governance.propose`); version 1 chains committed such duplicates.
DUPLICATE_PROPOSAL_REFUSED_FROM = 2

# From this version on, governance may revoke a credential of a retired member (the
# action `revoke_credential`, `ledger.governance_revocation`); before it, such a
# proposal is refused, as a release that did not know the action refused it.
CONSORTIUM_REVOCATION_FROM = 3

# From this version on, one governance proposal may revoke many credentials of a retired
# member (the action `revoke_credentials`, `ledger.governance_revocation`); before it,
# such a proposal is refused, as a release that did not know the action refused it.
BULK_REVOCATION_FROM = 4

# From this version on, a voter may hold at most its share of the open proposals
# (`ledger.governance.open_places_share`): before it, one voter could fill every open
# place with proposals of its own, each open for up to 100,000 blocks, and no other
# ministry could propose anything meanwhile, that voter's own retirement included.
OPEN_PLACES_SHARED_FROM = 5

# From this version on, governance's `add_member` refuses a key another member holds
# or held by rotation (`ledger.governance_actions.check_action`), as a ministry's own
# `add_member` does: before it, two members could hold one key, and a validator's seat
# in the set (named by key) was read as the newcomer's.
GOVERNANCE_KEY_HOLDERS_CHECKED_FROM = 6

# From this version on, governance may replace a member's key (the action `replace_key`,
# `ledger.key_events.replace_member_key`) and distrust its earlier keys from a height:
# before it, a member that lost its key could never sign again, and a thief holding it
# could rotate the member onto a key of the thief's own.
KEY_REPLACEMENT_FROM = 7

# From this version on, a `replace_key` proposal is refused approval once another
# replacement of the same member's key was approved since it was proposed
# (`ledger.governance`): before it, a second request left open, with the votes cast for
# it while it was the one, moved the member again at one more vote.
REPLACED_SINCE_REFUSED_FROM = 8

# From this version on, governance may revoke a retired issuer's credential over a
# revocation the issuer recorded with a key distrusted at its height (`ledger.distrust`):
# verifiers hold such a credential in doubt, and the retired issuer can sign nothing to
# settle it. Nothing else recorded with a doubted key is written over: a thief holding
# the current key would first report the honest key stolen, then overwrite its records.
CONSORTIUM_REVOKES_DOUBTED_FROM = 8

# From this version on, a report of a stolen key is kept with the height it was made at,
# and a replacement distrusting the member's keys from H undoes the reports made from H
# on (`ledger.key_events.KeyPeriod.reports`): they were signed with a key distrusted
# there. Before it, a thief holding the current key could report an older, honest key
# stolen from block 1 for good.
REPORTS_UNDONE_FROM = 8

# From this version on, a ministry (which may accredit issuers) is admitted by the
# consortium's vote only (`ledger.governance`'s add_member), never by one ministry's own
# `add_member`: a thief holding one ministry's key admitted a ministry of its own, whose
# grants, made with a key never stolen, outlived the stolen key's replacement.
MINISTRIES_BY_VOTE_FROM = 8

# From this version on, a member a ministry admits by its own `add_member` records which
# ministry admitted it (`ledger.records.Member.added_by`), so that one a thief admitted with
# a ministry's key declared stolen since is told (`admission_compromised`): before it, its
# anchors verified as "recorded by" a name of the thief's choosing for good.
ADMITTED_BY_RECORDED_FROM = 9

# From this version on, a governance vote is kept with its height and the key that signed
# it, and one whose key is distrusted at that height does not count while the proposal is
# open (`ledger.governance_votes`); the ministry may cast it again with the key it holds
# now. Before it, a thief holding a ministry's key voted, and the vote kept counting once
# the key was reported stolen: one honest vote more approved what the thief had voted for.
STOLEN_VOTES_SET_ASIDE_FROM = 10

# From this version on, governance may confirm a member whose admission by one ministry's
# own `add_member` is in doubt (the action `confirm_admission`: `Member.admission_confirmed`,
# `ledger.distrust.stolen_admission`): before it, a member an honest ministry admitted in
# the block of its rotation, or after a replacement's cautious early height, had what it
# recorded refused for good, and its key could not be admitted again.
ADMISSION_CONFIRMED_FROM = 10

# From this version on, evidence of equivocation is of a height the chain has reached, and
# at most `ledger.equivocation.MAX_EVIDENCE_PER_VALIDATOR` records accuse one validator:
# before it, one validator (or a thief holding its key) signed conflicting messages for
# heights to come, filled the chain's places for evidence with its own, and evidence
# against every other validator was refused from then on.
EVIDENCE_BOUNDED_FROM = 11

# From this version on, a retirement's check that enough voters are left counts only
# voters that can sign at its approval (a ministry admitted by the consortium for a later
# height cannot), and an approved retirement may be brought forward by a later proposal
# (`ledger.governance_actions.check_action`): before it, retirements could leave fewer
# voters able to sign than the threshold, and one approved 100,000 blocks on stood.
RETIREMENT_RULES_FROM = 11

# From this version on, a member's key is admitted (a ministry's own `add_member`, or
# governance's) only with its holder's proof of possession (`ledger.admission`), as a
# rotation's and a replacement's key always were: before it, anyone able to admit a member
# could name a key its holder had asked for in a replacement request, and the replacement
# was refused (`key_in_use`) until the member made another key, which could be taken the
# same way. Before it, an admission carrying a proof is refused, as a release that did not
# know the field refused to decode it.
ADMISSION_PROOF_FROM = 12

# From this version on, the first evidence of each kind of equivocation against a member
# is taken past the places one validator key and one member hold
# (`ledger.equivocation.KINDS_KEPT_PAST_THE_CAPS`): before it, a validator filled its own
# member's places with conflicting prepares at views never held, and the evidence of its
# conflicting pre-prepares or commits, the attack itself, was refused (`evidence_enough`).
EVIDENCE_KINDS_KEPT_FROM = 13

# From this version on, a new member (a ministry's own `add_member`, governance's, or a
# genesis stating it) whose name reads as a member's (`ledger.member_names_read.readings`:
# case, spaces, NFKC, Cyrillic or Greek letters drawn as Latin ones, I and l, dashes and
# apostrophes), or holds an invisible character or one unassigned in Unicode 3.2 (read
# otherwise by the Unicode of another Python), is refused (`ledger.member_name_index`):
# before it, a ministry admitted a second "KazNU", or "KаzNU" with a Cyrillic "а", and a
# verifier said "issued by KazNU" of what the impostor issued.
MEMBER_NAMES_UNIQUE_FROM = 14


class StateReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...


class StateWriter(StateReader, Protocol):
    def set(self, key: bytes, value: bytes) -> None: ...


@dataclass(frozen=True)
class RulesVersionChange:
    from_height: int
    version: int


def rules_version_changes(state: StateReader) -> list[RulesVersionChange]:
    """Every change of rules version, in height order (none: version 1 throughout)."""
    raw = state.get(RULES_VERSION_KEY)
    if raw is None:
        return []
    value = decode(raw)
    if not isinstance(value, list) or not all(
            isinstance(item, list) and len(item) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in item)
            for item in value):
        raise MalformedInput("the stored rules versions are malformed")
    return [RulesVersionChange(height, version) for height, version in value]


def rules_version_at(state: StateReader, height: int) -> int:
    """The rules version block `height` is executed under."""
    version = GENESIS_RULES_VERSION
    for change in rules_version_changes(state):
        if change.from_height > height:
            break
        version = change.version
    return version


def scheduled_rules_versions(state: StateReader, height: int) -> list[RulesVersionChange]:
    """The changes approved to take effect after block `height`."""
    return [c for c in rules_version_changes(state) if c.from_height > height]


def require_known_rules(state: StateReader, height: int) -> int:
    """The rules version of block `height`, or RulesVersionUnknown if this release does
    not know it (the caller must then not execute the block at all)."""
    version = rules_version_at(state, height)
    if version > MAX_KNOWN_RULES_VERSION:
        raise RulesVersionUnknown(version, height, MAX_KNOWN_RULES_VERSION)
    return version


def check_rules_version_change(state: StateReader, version: int, effective: int) -> None:
    """Whether governance may schedule `version` from `effective`: only upwards, and after
    any change already scheduled, so the version never goes down at a later height. The
    version need not be one this release knows: the releases that know it come later."""
    changes = rules_version_changes(state)
    last = changes[-1] if changes else RulesVersionChange(0, GENESIS_RULES_VERSION)
    if version <= last.version:
        raise TxRejected("rules_version_not_above", f"the rules are already version "
                         f"{last.version} from height {last.from_height}; a change must "
                         "name a higher version", version=last.version, height=last.from_height)
    if effective <= last.from_height:
        raise TxRejected("rules_version_out_of_order", f"rules version {last.version} is "
                         f"scheduled from height {last.from_height}; a later version must "
                         "take effect after it", version=last.version, height=last.from_height)


def apply_rules_version_change(state: StateWriter, version: int, effective: int) -> None:
    changes = [*rules_version_changes(state), RulesVersionChange(effective, version)]
    state.set(RULES_VERSION_KEY, encode([[c.from_height, c.version] for c in changes]))


def genesis_rules_state(version: int) -> dict[bytes, bytes]:
    """What a genesis stating `version` adds to the state: nothing for version 1."""
    if version == GENESIS_RULES_VERSION:
        return {}
    return {RULES_VERSION_KEY: encode([[0, version]])}

"""The consortium's genesis: who the members are and which of them validate.

A genesis file is JSON written by `senim consortium create` from a members
description. Every node of the network loads the same file; its hash is part
of the chain's identity, so nodes with different genesis files never agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

from ledger.codec import encode, tagged_hash
from ledger.errors import ConfigError
from ledger.governance import genesis_governance_state
from ledger.governance_policy import (
    GovernancePolicy,
    default_policy,
    policy_from_json,
    shown_given,
)
from ledger.identity import MemberId, member_id_of
from ledger.member_name_index import name_index
from ledger.member_names_read import invisible_marks, readings, unassigned_marks
from ledger.records import Member, member_key
from ledger.rules_version import (
    GENESIS_RULES_VERSION,
    MAX_KNOWN_RULES_VERSION,
    MAX_RULES_VERSION,
    MEMBER_NAMES_UNIQUE_FROM,
    genesis_rules_state,
)
from ledger.transactions import ROLES
from ledger.validator_sets import genesis_validator_set_state, validator_set_hash

GENESIS_KIND = "senim-genesis/v1"
NETWORK_ID_TAG = b"senim/network/v1/"  # before the genesis hash, in every P2P handshake
CHAIN_ID_CHARS_MAX = 64


def fingerprint_of(genesis_hash: bytes) -> str:
    """A genesis hash as operators read it: its first 32 hex digits in groups of four."""
    text = genesis_hash.hex()[:32]
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class GenesisMember:
    name: str
    role: str
    public_key: bytes
    validator: bool

    @property
    def member_id(self) -> MemberId:
        return member_id_of(self.public_key)


@dataclass(frozen=True)
class Genesis:
    chain_id: str
    genesis_time_ms: int
    members: tuple[GenesisMember, ...]
    # None: the default policy (a majority of the ministries), left out of the file.
    governance: GovernancePolicy | None = None
    # The ledger rules version from block 1 (`ledger.rules_version`); None: version 1,
    # left out of the file.
    rules_version: int | None = None

    @property
    def initial_rules_version(self) -> int:
        return self.rules_version or GENESIS_RULES_VERSION

    @property
    def ministries(self) -> tuple[GenesisMember, ...]:
        return tuple(m for m in self.members if m.role == "ministry")

    @property
    def policy(self) -> GovernancePolicy:
        return self.governance or default_policy(len(self.ministries))

    @property
    def validators(self) -> tuple[GenesisMember, ...]:
        """Validators in a fixed order (by member id) that every node agrees on."""
        return tuple(sorted((m for m in self.members if m.validator),
                            key=lambda m: m.member_id))

    @property
    def validator_set_hash(self) -> bytes:
        return validator_set_hash([m.public_key for m in self.validators])

    @property
    def genesis_hash(self) -> bytes:
        """What makes two nodes' chains the same chain."""
        members = [[m.name, m.role, m.public_key, m.validator] for m in self.members]
        policy = self.policy
        fields = [self.chain_id, self.genesis_time_ms, members,
                  [policy.threshold, policy.voters, policy.min_validators]]
        # Version 1 adds nothing: a genesis that states it is the chain of one that does
        # not, and every genesis made before versions existed keeps its hash.
        if self.initial_rules_version != GENESIS_RULES_VERSION:
            fields.append(self.initial_rules_version)
        return tagged_hash(b"senim/genesis/v1", encode(fields))

    @property
    def fingerprint(self) -> str:
        """What operators read to each other to check they hold the same genesis (the
        CLI prints it, and so does a node's start line)."""
        return fingerprint_of(self.genesis_hash)

    @property
    def network_id(self) -> bytes:
        """What P2P handshakes bind (p2p's chain id): the genesis hash, so that a node
        started with another genesis file of the same chain id fails every handshake,
        rather than connecting and fetching blocks that never follow its own genesis."""
        return NETWORK_ID_TAG + self.genesis_hash

    def initial_state(self) -> dict[bytes, bytes]:
        state = {
            member_key(m.member_id): Member(m.name, m.role, m.public_key, m.validator, 0).encode()
            for m in self.members
        }
        state.update(genesis_validator_set_state([m.public_key for m in self.validators]))
        state.update(genesis_governance_state(self.policy,
                                              (m.member_id for m in self.ministries)))
        state.update(genesis_rules_state(self.initial_rules_version))
        if self.initial_rules_version >= MEMBER_NAMES_UNIQUE_FROM:  # ledger.member_name_index
            state.update(name_index((m.member_id, Member(m.name, m.role, m.public_key,
                                                         m.validator, 0))
                                    for m in self.members))
        return state

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "kind": GENESIS_KIND,
            "chain_id": self.chain_id,
            "genesis_time_ms": self.genesis_time_ms,
            "members": [
                {"name": m.name, "role": m.role, "public_key": m.public_key.hex(),
                 "member_id": m.member_id.hex(), "validator": m.validator}
                for m in self.members
            ],
        }
        if self.governance is not None:
            document["governance"] = self.governance.to_json()
        if self.rules_version is not None:
            document["rules_version"] = self.rules_version
        return document


def current_rules_genesis(chain_id: str, genesis_time_ms: int,
                          members: tuple[GenesisMember, ...],
                          governance: GovernancePolicy | None = None) -> Genesis:
    """A genesis under the newest rules this release executes, as `senim consortium create`
    writes one by default: what a simulation, an in-process test or a bench runs unless it
    is about an older version's behaviour (a bare `Genesis(...)` is version 1, where every
    gated fix of `ledger.rules_version` is off)."""
    return Genesis(chain_id, genesis_time_ms, members, governance, MAX_KNOWN_RULES_VERSION)


MEMBER_FIELDS = frozenset({"name", "role", "public_key", "member_id", "validator"})
GENESIS_FIELDS = frozenset({"kind", "chain_id", "genesis_time_ms", "members", "governance",
                            "rules_version"})


def _is_utf8_text(value: Any) -> TypeGuard[str]:
    """Text that can be hashed: JSON may carry lone surrogates, which UTF-8 cannot."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _member_from_json(index: int, raw: Any) -> GenesisMember:
    where = f"members[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(where, "must be a table/object", "not_table")
    unknown = sorted(set(raw) - MEMBER_FIELDS)
    if unknown:
        known = ", ".join(sorted(MEMBER_FIELDS))
        raise ConfigError(f"{where}.{shown_given(unknown[0])}",
                          f"unknown field (known: {known})",
                          "unknown_field", known=known)
    name = raw.get("name")
    if not _is_utf8_text(name) or not name.strip():
        raise ConfigError(f"{where}.name", "must be non-empty text", "empty_text")
    role = raw.get("role")
    if role not in ROLES:
        known = ", ".join(ROLES)
        got = shown_given(repr(role))
        raise ConfigError(f"{where}.role", f"must be one of {known}, got {got}",
                          "not_one_of", known=known, got=got)
    try:
        public_key = bytes.fromhex(str(raw.get("public_key", "")))
    except ValueError as exc:
        raise ConfigError(f"{where}.public_key", "must be hex", "not_key") from exc
    if len(public_key) != 32:
        raise ConfigError(f"{where}.public_key", "must be a 32-byte Ed25519 key in hex",
                          "not_key")
    validator = raw.get("validator", False)
    if not isinstance(validator, bool):
        raise ConfigError(f"{where}.validator", "must be true or false", "not_boolean")
    member = GenesisMember(name, role, public_key, validator)
    if "member_id" in raw and raw["member_id"] != member.member_id.hex():
        raise ConfigError(f"{where}.member_id", "does not match the public key",
                          "member_id_mismatch")
    return member


def _refuse_names_alike(members: tuple[GenesisMember, ...]) -> None:
    """A name holding an invisible character or one unassigned in Unicode 3.2, and two
    members whose names read alike (share a reading, `ledger.member_names_read.readings`),
    refused under the rules that refuse such an admission after genesis."""
    first: dict[str, int] = {}
    for index, member in enumerate(members):
        marks = invisible_marks(member.name)
        if marks:
            raise ConfigError(f"genesis.members[{index}].name", f"{member.name!r} holds an "
                              f"invisible character ({marks}): type the name again",
                              "name_invisible", name=repr(member.name), marks=marks)
        marks = unassigned_marks(member.name)
        if marks:
            raise ConfigError(f"genesis.members[{index}].name", f"{member.name!r} holds a "
                              f"character not every node compares alike ({marks}: an emoji, "
                              "or a character added to Unicode after 2002): write the name "
                              "in letters, digits and ordinary punctuation", "name_character",
                              name=repr(member.name), marks=marks)
        for reading in readings(member.name):
            earlier = first.setdefault(reading, index)
            if earlier != index:
                other = members[earlier].name
                raise ConfigError(f"genesis.members[{index}].name", f"{member.name!r} reads "
                                  f"as members[{earlier}]'s name {other!r}: a verifier could "
                                  "not tell the two apart; rename one of the two",
                                  "name_alike", earlier=earlier, name=repr(member.name),
                                  other=repr(other))


def genesis_from_json(document: Any) -> Genesis:
    if not isinstance(document, dict) or document.get("kind") != GENESIS_KIND:
        raise ConfigError("genesis", f"not a Senim genesis file (kind must be {GENESIS_KIND})",
                          "not_genesis", kind=GENESIS_KIND)
    unknown = sorted(set(document) - GENESIS_FIELDS)
    if unknown:  # a misspelt "governance" would otherwise give the default policy
        known = ", ".join(sorted(GENESIS_FIELDS))
        raise ConfigError(f"genesis.{shown_given(unknown[0])}",
                          f"unknown field (known: {known})",
                          "unknown_field", known=known)
    chain_id = document.get("chain_id")
    if not _is_utf8_text(chain_id) or not chain_id or len(chain_id) > CHAIN_ID_CHARS_MAX:
        raise ConfigError("genesis.chain_id", f"must be text of 1 to {CHAIN_ID_CHARS_MAX} "
                          "characters", "chain_id_length", most=CHAIN_ID_CHARS_MAX)
    genesis_time = document.get("genesis_time_ms")
    if (not isinstance(genesis_time, int) or isinstance(genesis_time, bool)
            or not 0 <= genesis_time < 2**63):
        raise ConfigError("genesis.genesis_time_ms", "must be a non-negative 64-bit integer",
                          "time_range")
    raw_members = document.get("members")
    if not isinstance(raw_members, list) or not raw_members:
        raise ConfigError("genesis.members", "must be a non-empty list", "no_members")
    members = tuple(_member_from_json(i, raw) for i, raw in enumerate(raw_members))
    ids = [m.member_id for m in members]
    if len(set(ids)) != len(ids):
        raise ConfigError("genesis.members", "two members share one public key", "shared_key")
    if not any(m.validator for m in members):
        raise ConfigError("genesis.members", "at least one member must be a validator",
                          "no_validator")
    governance = document.get("governance")
    ministries = sum(1 for m in members if m.role == "ministry")
    policy = None if governance is None else policy_from_json(governance, ministries)
    rules_version = document.get("rules_version")
    if rules_version is not None and (
            not isinstance(rules_version, int) or isinstance(rules_version, bool)
            or not GENESIS_RULES_VERSION <= rules_version <= MAX_RULES_VERSION):
        raise ConfigError("genesis.rules_version", f"must be a whole number from "
                          f"{GENESIS_RULES_VERSION} to {MAX_RULES_VERSION}", "out_of_range",
                          low=GENESIS_RULES_VERSION, high=MAX_RULES_VERSION)
    if (rules_version or GENESIS_RULES_VERSION) >= MEMBER_NAMES_UNIQUE_FROM:
        _refuse_names_alike(members)
    return Genesis(chain_id, genesis_time, members, policy, rules_version)

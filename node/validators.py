"""The validator set as consensus sees it: ids, Ed25519 signer and verifier.

Validator ids are member ids (20 bytes). The set in force at each height is in
the chain state (`ledger.validator_sets`, changed by governance at block
boundaries); `ValidatorSets` follows it, so a block's certificate is checked against
the set of its own height.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from consensus import CommitCertificate, ValidatorId, decode_certificate, verify_certificate
from consensus.errors import MalformedMessage
from ledger.chain import Chain
from ledger.genesis import Genesis
from ledger.identity import KeyPair, verify_signature
from ledger.key_events import validator_member
from ledger.light_client import SetCertificateCheck
from ledger.rules import all_members, load_member
from ledger.validator_sets import (
    FIRST_BLOCK_HEIGHT,
    StateReader,
    ValidatorSetRecord,
    set_change_heights,
    validator_set_at,
)
from storage.state_tree import StateTree

# Certificates one set has checked and found good, remembered so that a certificate
# is verified once: sync checks a run's last certificate ahead, then again as the run
# commits, and the next block carries the same bytes as its last commit; a proposer
# reads the head's certificate again.
CERTIFICATES_REMEMBERED_MAX = 256
# Signatures one set has verified and found good, or that this node made itself,
# remembered by their exact bytes: the certificate a proposal carries as its last commit
# is made of the commit votes this node verified as they came in a block before (or cast
# itself), and was verified again, a quorum's signature checks a block, since the proposer's
# certificate is rarely the same bytes as this node's own. Only small messages (votes,
# mostly): a proposal, or a view change with a prepared block, signs a whole block, and a
# member could make every node hold hundreds of them.
SIGNATURES_REMEMBERED_MAX = 256
SIGNED_BYTES_REMEMBERED_MAX = 256

SignatureCheck = tuple[bytes, bytes, bytes]  # public key, message, signature


@dataclass(frozen=True)
class ValidatorSet:
    chain_id: bytes
    ids: tuple[ValidatorId, ...]
    public_keys: dict[bytes, bytes]
    # certificate bytes -> the certificate they decode to, checked against this set,
    # oldest first: a sync answer's certificates are checked ahead of their blocks, so
    # forgetting them all at once could drop some not yet used. API threads read it
    # too (one read is atomic); writers take the lock.
    _checked: OrderedDict[bytes, CommitCertificate] = field(
        default_factory=OrderedDict, init=False, repr=False, compare=False)
    _checked_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False)
    # (public key, message, signature) known good (verified, or this node's own), oldest
    # first; written under the lock
    _verified: OrderedDict[SignatureCheck, None] = field(
        default_factory=OrderedDict, init=False, repr=False, compare=False)

    @classmethod
    def from_genesis(cls, genesis: Genesis) -> ValidatorSet:
        validators = genesis.validators
        return cls(genesis.chain_id.encode(),
                   tuple(ValidatorId(v.member_id) for v in validators),
                   {v.member_id: v.public_key for v in validators})

    @classmethod
    def from_record(cls, chain_id: str, record: ValidatorSetRecord) -> ValidatorSet:
        return cls(chain_id.encode(), tuple(ValidatorId(v.member_id) for v in record.validators),
                   {v.member_id: v.public_key for v in record.validators})

    @classmethod
    def of_keys(cls, chain_id: str, public_keys: Sequence[bytes]) -> ValidatorSet:
        """A set as a light client learns it: public keys proven in the state."""
        record = ValidatorSetRecord.of(FIRST_BLOCK_HEIGHT, list(public_keys))
        return cls.from_record(chain_id, record)

    def verify(self, validator: ValidatorId, message: bytes, signature: bytes) -> bool:
        public_key = self.public_keys.get(validator)
        if public_key is None:
            return False
        if len(message) > SIGNED_BYTES_REMEMBERED_MAX:
            return verify_signature(public_key, message, signature)
        check = (public_key, message, signature)
        if check in self._verified:
            return True
        if not verify_signature(public_key, message, signature):
            return False
        self._remember(check)
        return True

    def remember_own(self, keys: KeyPair, message: bytes, signature: bytes) -> None:
        """`signature` is `keys`' own of `message`, just made, so good under their public
        key (remembered by it, as a verified one is: it vouches for no other key). A node
        never verified its own commit vote, yet the next block's last commit mostly
        carries it, and it was verified there. Good only if `keys.public_key` is its seed's,
        as in every key pair `KeyPair.from_seed` or `generate` makes (the node's are)."""
        if len(message) <= SIGNED_BYTES_REMEMBERED_MAX:
            self._remember((keys.public_key, message, signature))

    def _remember(self, check: SignatureCheck) -> None:
        with self._checked_lock:
            self._verified[check] = None
            while len(self._verified) > SIGNATURES_REMEMBERED_MAX:
                self._verified.popitem(last=False)

    def certificate_for(self, data: bytes, height: int, block_hash: bytes
                        ) -> CommitCertificate | None:
        """Decode and check a stored or fetched certificate for one block; None if bad."""
        return self._certificate(data, height, block_hash, self.verify)

    def unverified_quorum_certificate(self, data: bytes, height: int, block_hash: bytes
                                      ) -> CommitCertificate | None:
        """A certificate for that block whose votes come from a quorum of distinct
        members of this set, their signatures not checked (unless it is known good);
        None if it can never be good. Block sync takes the last commits inside a run so
        (node.engine_runs): the run's last certificate, checked in full, vouches for
        them through the headers."""
        return self._certificate(data, height, block_hash, None)

    def _certificate(self, data: bytes, height: int, block_hash: bytes,
                     verify: Callable[[ValidatorId, bytes, bytes], bool] | None
                     ) -> CommitCertificate | None:
        """`data` decoded and checked for that block, its signatures by `verify` (and
        then remembered as good), or not at all if None."""
        if not isinstance(data, bytes):  # a peer's frame may hold anything in its place
            return None
        cert = self._checked.get(data)
        if cert is None:
            try:
                cert = decode_certificate(data)
            except MalformedMessage:
                return None
            if not verify_certificate(cert, self.chain_id, self.ids,
                                      verify or (lambda *_: True)):
                return None
            if verify is not None:
                self.remember_checked(data, cert)
        if cert.height != height or cert.digest != block_hash:
            return None
        return cert

    def signature_checks(self, data: bytes
                         ) -> tuple[CommitCertificate, list[SignatureCheck]] | None:
        """A certificate not yet known good, and the signature checks that make it good
        if it is otherwise a quorum's (distinct members of this set); None if it is
        known good already or can never be (`node.signature_checks`)."""
        if data in self._checked:
            return None
        try:
            cert = decode_certificate(data)
        except MalformedMessage:
            return None
        checks: list[SignatureCheck] = []

        def collect(validator: ValidatorId, message: bytes, signature: bytes) -> bool:
            public_key = self.public_keys.get(validator)
            if public_key is None:
                return False
            checks.append((public_key, message, signature))
            return True

        if not verify_certificate(cert, self.chain_id, self.ids, collect):
            return None
        return cert, checks

    def remember_checked(self, data: bytes, cert: CommitCertificate) -> None:
        """`data` decodes to `cert`, whose every signature this set checked and found good."""
        with self._checked_lock:
            self._checked[data] = cert
            while len(self._checked) > CERTIFICATES_REMEMBERED_MAX:
                self._checked.popitem(last=False)

    def certifies(self, data: bytes, height: int, block_hash: bytes) -> bool:
        """Whether a quorum of this one set signs the commit of that block."""
        return self.certificate_for(data, height, block_hash) is not None

    def commit_times(self, data: bytes, height: int, block_hash: bytes
                     ) -> tuple[int, ...] | None:
        """`ledger.bft_time.CommitTimes` for this one set: a last commit's vote times."""
        cert = self.certificate_for(data, height, block_hash)
        return None if cert is None else cert.vote_times


def certifies_by_keys(chain_id: str) -> SetCertificateCheck:
    """`ledger.light_client.SetCertificateCheck` for this chain: whichever set the walk
    from genesis says is in force."""
    def certifies(public_keys: Sequence[bytes], data: bytes, height: int,
                  block_hash: bytes) -> bool:
        return ValidatorSet.of_keys(chain_id, public_keys).certifies(data, height, block_hash)
    return certifies


class ValidatorSets:
    """The set in force at each height, as the committed state says.

    `refresh(head)` re-reads the records after a commit. A record can still be
    rewritten only while its height lies more than one block beyond the head
    (`ledger.governance`), so older ones are read once. Lookups bisect an
    in-memory list that `refresh` replaces whole, so threads other than the
    committing one (API readers checking certificates) may call them."""

    def __init__(self, chain_id: str, state: StateReader, head_height: int) -> None:
        self._chain_id = chain_id
        self._state = state
        self._table: tuple[list[int], list[ValidatorSet]] = ([], [])
        self._final_height = 0  # records up to here were final when read
        self.refresh(head_height)

    @classmethod
    def for_chain(cls, chain: Chain) -> ValidatorSets:
        return cls(chain.chain_id, chain.state, chain.height)

    def refresh(self, head_height: int) -> None:
        heights = set_change_heights(self._state)
        known = dict(zip(*self._table, strict=True))
        sets = [known[h] if h in known and h <= self._final_height
                else ValidatorSet.from_record(self._chain_id, validator_set_at(self._state, h))
                for h in heights]
        self._table = (heights, sets)
        self._final_height = head_height + 2

    @property
    def largest(self) -> int:
        """The size of the largest set, past or scheduled."""
        return max(len(s.ids) for s in self._table[1])

    def at(self, height: int) -> ValidatorSet:
        heights, sets = self._table
        position = bisect_right(heights, max(height, 1))
        return sets[max(position - 1, 0)]

    def certificate_for(self, data: bytes, height: int, block_hash: bytes
                        ) -> CommitCertificate | None:
        return self.at(height).certificate_for(data, height, block_hash)

    def certifies(self, data: bytes, height: int, block_hash: bytes) -> bool:
        """`ledger.chain.CertificateCheck`: certified by the set in force at `height`."""
        return self.certificate_for(data, height, block_hash) is not None

    def commit_times(self, data: bytes, height: int, block_hash: bytes) -> tuple[int, ...] | None:
        """`ledger.bft_time.CommitTimes` for this set: a block's last commit's vote times."""
        cert = self.certificate_for(data, height, block_hash)
        return None if cert is None else cert.vote_times


def peer_keys(state: StateTree, height: int) -> dict[bytes, str]:
    """The keys that may connect after block `height`, each with the name it is known by:
    every member's current key but a retired member's (from the block before it may no
    longer sign: its node then has nothing to do in the consortium, and is dropped like
    any peer no longer allowed), and the keys of the validators of the next two heights.
    A validator that rotates its key certifies two more blocks with the old one, so its
    node, still running that key, must be heard until then: dropped at the rotation, it
    left the next block one vote short, a stall with one other validator down."""
    named = {member.public_key: member.name for _, member in all_members(state)
             if member.retired_height is None or member.retired_height > height + 1}
    for upcoming in (height + 1, height + 2):
        for key in validator_set_at(state, upcoming).public_keys:
            if key not in named:
                member = load_member(state, validator_member(state, key))
                named[key] = member.name if member is not None else key.hex()[:12]
    return named


def next_member_retirement(state: StateTree, height: int) -> int | None:
    """The first height after `height + 1` at which a member's retirement takes effect,
    if one is scheduled: `peer_keys` must be asked again by then, since governance
    schedules a retirement blocks before it takes effect and no block at that height
    need carry any transaction about it."""
    upcoming = [member.retired_height for _, member in all_members(state)
                if member.retired_height is not None and member.retired_height > height + 1]
    return min(upcoming, default=None)


def own_retirement(state: StateTree, member_id: bytes) -> str | None:
    """What this node's operator must be told once governance has retired its member,
    else None. Said as soon as the node knows of it: its peers drop it from the block
    before, which the node itself may then never receive."""
    member = load_member(state, member_id)
    if member is None or member.retired_height is None:
        return None
    return (f"{member.name} is retired from the consortium from block "
            f"{member.retired_height}: from block {member.retired_height - 1} on, the other "
            "nodes no longer connect to this one, so its chain stops there and its answers "
            "grow out of date; stop it once it is no longer needed")

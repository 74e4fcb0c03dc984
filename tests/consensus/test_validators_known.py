"""A validator-set change at a block boundary, as the replica sees it (`ValidatorsKnown`)."""

from consensus import (
    BlockSynced,
    Commit,
    Digest,
    Height,
    MessageReceived,
    Prepare,
    Rejected,
    Replica,
    ReplicaConfig,
    SignedMessage,
    ValidatorId,
    ValidatorsKnown,
    View,
    commit_signing_bytes,
    encode_signed,
    message_signing_bytes,
    primary_for,
)
from consensus.certificate import make_certificate
from consensus.messages import Message
from tests.sim.keys import make_signer, validator_ids, verify

CHAIN = b"unit-chain"
IDS = validator_ids(5)
OLD = IDS[:4]  # heights 1 and before
NEW = (*IDS[:3], IDS[4])  # from height 2: the fourth leaves, the fifth joins
DIGEST = Digest(b"\x11" * 32)


def signed(sender: ValidatorId, message: Message) -> bytes:
    signature = make_signer(sender)(message_signing_bytes(CHAIN, message))
    return encode_signed(SignedMessage(sender, message, signature))


def replica_at_height_1() -> Replica:
    config = ReplicaConfig(CHAIN, OLD, IDS[0], base_timeout_ticks=10, max_timeout_ticks=80)
    return Replica(config, make_signer(IDS[0]), verify, 0, None, clock_ms=lambda: 0)


def rejected(replica: Replica, sender: ValidatorId, message: Message) -> bool:
    actions = replica.step(MessageReceived(sender, signed(sender, message)))
    return any(isinstance(a, Rejected) and "not signed by a validator" in a.reason
               for a in actions)


def enter_height_2(replica: Replica) -> None:
    data = commit_signing_bytes(CHAIN, Height(1), View(0), DIGEST, 0)
    certificate = make_certificate(Height(1), View(0), DIGEST,
                                   {v: (0, make_signer(v)(data)) for v in OLD[:3]})
    replica.step(BlockSynced(Height(1), DIGEST, certificate))


def test_messages_are_authenticated_against_the_set_of_their_height() -> None:
    replica = replica_at_height_1()
    replica.step(ValidatorsKnown(Height(2), NEW))
    joiner, leaving = IDS[4], IDS[3]
    assert rejected(replica, joiner, Prepare(View(0), Height(1), DIGEST))
    assert not rejected(replica, joiner, Prepare(View(0), Height(2), DIGEST))
    assert not rejected(replica, leaving, Prepare(View(0), Height(1), DIGEST))
    assert rejected(replica, leaving, Prepare(View(0), Height(2), DIGEST))


def test_the_new_set_takes_over_at_the_boundary() -> None:
    replica = replica_at_height_1()
    assert replica.primary == primary_for(View(0), Height(1), OLD)
    replica.step(ValidatorsKnown(Height(2), NEW))
    assert replica.primary == primary_for(View(0), Height(1), OLD)  # not before the boundary
    enter_height_2(replica)
    assert replica.height == 2 and replica.primary == primary_for(View(0), Height(2), NEW)
    assert rejected(replica, IDS[3], Commit(View(0), Height(2), DIGEST, 0))


def test_without_word_of_a_change_the_set_stays() -> None:
    replica = replica_at_height_1()
    enter_height_2(replica)
    assert replica.primary == primary_for(View(0), Height(2), OLD)
    assert rejected(replica, IDS[4], Prepare(View(0), Height(2), DIGEST))


def test_a_set_told_late_replaces_the_current_one() -> None:
    replica = replica_at_height_1()
    enter_height_2(replica)
    replica.step(ValidatorsKnown(Height(2), NEW))
    assert replica.primary == primary_for(View(0), Height(2), NEW)
    assert not rejected(replica, IDS[4], Prepare(View(0), Height(2), DIGEST))

"""Senim consensus: PBFT as a pure, deterministic state machine.

Owns: quorum arithmetic and primary rotation, consensus messages and their
canonical signed encoding, commit certificates (and their verification, used
by lagging nodes, light clients and offline verifiers), the replica state
machine and its persisted safety state.

Must not import asyncio, time, random, sockets, anything touching disk, or the
packages node, p2p, storage or cli. The clock (Tick events), the keys
(Signer/Verifier callables), the configuration and all IO come in from the
driver; that is what lets the simulator in tests/sim run thousands of seeded
schedules.

Driver contract (the node; the simulator plays the same role)
-------------------------------------------------------------
* Create `Replica(config, signer, verifier, committed_height, persisted,
  last_certificate, clock_ms=...)` with the last safety state the replica asked
  to persist (None on a fresh chain), the certificate of the last committed
  block and the wall clock (ms since the epoch) stamped on its commit votes.
* Feed every input through `Replica.step(event)`, one at a time, from one task:
  `Tick` about every 10 ms; `MessageReceived` for each consensus frame;
  `WorkAvailable` whenever the mempool holds transactions (again after each
  CommitBlock/BlockSynced while it still does; the replica forgets pending work
  at each new height); `BlockProposed` answering `ProposeBlock`;
  `BlockExecuted` answering `ExecuteBlock`; `BlockSynced` for blocks
  fetched after `RequestSync`, in height order: for each, or only for the last
  of those the node committed together (the replica moves to the height after
  the block it is told of; `ValidatorsKnown` of that height must still come
  before it, so a block after which the set changes is told of on its own).
* Perform the returned actions IN LIST ORDER. `Persist(data)` must be durable
  (fsync) before any later action of the same list is performed: it is what
  guarantees that after a crash the replica never signs two different blocks
  for one height and view and never returns to an older view. `CommitBlock`
  writes block, certificate and state in one atomic batch; a crash between it
  and the next `Persist` is safe. One relaxation: a list that sends nothing
  (no `Broadcast` or `Send`) may leave its writes where a killed process keeps
  them but a power cut may not, if they are made durable by the next synced
  write. Every message that rests on new safety state comes in a list with a
  `Persist` of its own (a vote, a view change); the rest restate what was
  durable already, or a certificate. So a power cut at most takes the replica
  back to a state from which it has sent nothing newer; a block it loses so was
  certified, and a quorum persisted it in their prepared certificates first.
* The node checks what consensus cannot: a block's header hashes to its digest
  (answer `BlockExecuted(valid=False)` otherwise), ledger rules, and that a
  synced block's certificate verifies (`verify_certificate`) before applying.
  Block time is the node's too: each commit vote carries its signer's clock
  (`CommitCertificate.vote_times`); the node derives a block's time from the
  certificate of the block before it (see ledger/bft_time.py).
* `Broadcast` goes to every other validator; `Send` to one. Delivery may fail,
  duplicate or reorder: the protocol copes (view changes, retransmission of
  view changes, sync hints).
* `ReportEvidence` and `Rejected` are for logs, metrics and operators; the
  replica has already dropped the input. `ViewChanged` is informational.

Protocol choices
----------------
One height at a time. The validator set may change at a block boundary: the
driver tells the replica the set of its height and of the next (`ValidatorsKnown`)
after each commit, and messages are authenticated against their height's set.
The primary of (view, height) is validators[(view +
height) mod n]: it rotates every block and on every view change. Views never
decrease, across heights and restarts. Messages for the next height or a
later view are kept (one per validator and kind) and replayed when usable.
A replica that receives a message for a height it has committed answers with
a signed `CommitProof` (rate-limited); a replica holding a verified
certificate for its own height or above asks its node to sync.
"""

from consensus.actions import (
    Action,
    Broadcast,
    CommitBlock,
    ExecuteBlock,
    Persist,
    ProposeBlock,
    Rejected,
    ReportEvidence,
    RequestSync,
    Send,
    ViewChanged,
)
from consensus.certificate import (
    Clock,
    CommitCertificate,
    CommitSignature,
    Signer,
    Verifier,
    commit_signing_bytes,
    decode_certificate,
    encode_certificate,
    verify_certificate,
)
from consensus.config import ReplicaConfig
from consensus.errors import ConsensusError, CorruptSafetyState, InvalidConfig, MalformedMessage
from consensus.events import (
    BlockExecuted,
    BlockProposed,
    BlockSynced,
    Event,
    MessageReceived,
    Tick,
    ValidatorsKnown,
    WorkAvailable,
)
from consensus.messages import (
    Commit,
    CommitProof,
    Message,
    NewView,
    Prepare,
    PreparedCertificate,
    PrePrepare,
    SignedMessage,
    ViewChange,
    decode_message,
    decode_signed,
    encode_message,
    encode_signed,
    max_message_bytes,
    message_signing_bytes,
    sign_message,
)
from consensus.quorum import is_quorum, max_faulty, primary_for, quorum_size
from consensus.replica import Phase, Replica
from consensus.safety import SafetyState, decode_safety_state, encode_safety_state
from consensus.types import DIGEST_BYTES, Digest, Height, ValidatorId, View

__all__ = [
    "DIGEST_BYTES", "Action", "BlockExecuted", "BlockProposed", "BlockSynced", "Broadcast",
    "Clock", "Commit", "CommitBlock", "CommitCertificate", "CommitProof", "CommitSignature",
    "ConsensusError", "CorruptSafetyState", "Digest", "Event", "ExecuteBlock", "Height",
    "InvalidConfig", "MalformedMessage", "Message", "MessageReceived", "NewView", "Persist",
    "Phase",
    "PrePrepare", "Prepare", "PreparedCertificate", "ProposeBlock", "Rejected", "Replica",
    "ReplicaConfig", "ReportEvidence", "RequestSync", "SafetyState", "Send", "SignedMessage",
    "Signer", "Tick", "ValidatorId", "ValidatorsKnown", "Verifier", "View", "ViewChange",
    "ViewChanged",
    "WorkAvailable", "commit_signing_bytes", "decode_certificate", "decode_message",
    "decode_safety_state", "decode_signed", "encode_certificate", "encode_message",
    "encode_safety_state", "encode_signed", "is_quorum", "max_faulty", "max_message_bytes",
    "message_signing_bytes", "primary_for", "quorum_size", "sign_message", "verify_certificate",
]

"""Valid encodings built with the real encoders, to seed the fuzzers and give them context.

Everything is deterministic (fixed keys, fixed times) so a seed corpus and a kept
crash input mean the same thing on every run.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from consensus import (
    Commit,
    CommitProof,
    Digest,
    Height,
    Message,
    Prepare,
    SafetyState,
    SignedMessage,
    ValidatorId,
    View,
    ViewChange,
    decode_certificate,
    encode_message,
    encode_safety_state,
    encode_signed,
    sign_message,
)
from consensus.safety import Vote
from ledger.blocks import decode_block
from ledger.chain import Chain
from ledger.codec import encode
from ledger.credential_documents import disclose
from ledger.credentials import make_batch
from ledger.genesis import Genesis
from ledger.offline import make_bundle, proof_keys
from ledger.payloads import (
    AddMemberPayload,
    AnchorPayload,
    CredentialRef,
    IssueBatchPayload,
    ProposePayload,
    RevokeCredentialAction,
    RevokeCredentialsAction,
    RevokePayload,
    SuspendPayload,
)
from ledger.vc.export import to_vc
from node.config import render_config
from node.validators import ValidatorSet
from p2p import handshake
from p2p.frames import FrameSealer
from storage.batch_tree import audit_path
from storage.kv import MemoryStore
from tests.consensus.signed_messages import new_view_on, prepared_view_change
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)

RECORDS = [{"full_name": f"Түлек {i}", "iin": f"0105171234{i:02d}", "gpa": "3.5"}
           for i in range(3)]
STATUS_BASE = "https://node.senim.test"
FRAME_KEY = bytes(range(32))
MAX_FRAME_BYTES = 1 << 20
LOCAL_SEED, PEER_SEED = b"\x11" * 32, b"\x22" * 32
LOCAL_EPHEMERAL, PEER_EPHEMERAL = b"\x33" * 32, b"\x44" * 32


@dataclass(frozen=True)
class World:
    """A small chain with an accredited issuer, one batch and one revocation."""

    net: Consortium
    chain: Chain
    documents: list[dict[str, Any]]
    transactions: list[bytes]
    blocks: list[bytes]
    certificates: list[bytes]
    bundle: dict[str, Any]
    vc: dict[str, Any]

    @property
    def genesis(self) -> Genesis:
        return self.net.genesis

    def certifies(self, certificate: bytes, height: int, block_hash: bytes) -> bool:
        return ValidatorSet.from_genesis(self.genesis).certifies(certificate, height,
                                                                 block_hash)


@functools.cache
def world() -> World:
    net = make_consortium()
    chain = Chain(MemoryStore(), net.genesis)
    commit(chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root,
                                                             len(RECORDS)))])
    issued_height, issued_ms = chain.height, chain.head_header.time_ms
    revoke = RevokePayload(CredentialRef(batch.root, batch.target_hashes[1], 1,
                                         tuple(audit_path(batch.target_hashes, 1))),
                           "issued_in_error")
    commit(chain, [make_tx(net.university, revoke)])
    documents = documents_of(batch)
    keys = proof_keys(batch.root, net.university.member_id, batch.target_hashes[0],
                      [net.ministry.member_id])
    header = chain.head_header
    bundle = make_bundle(chain.state, header, chain.get_certificate(header.height) or b"", keys)
    vc = to_vc(disclose(documents[0], ["iin"]), net.university, STATUS_BASE, issued_height,
               issued_ms, issued_ms)
    blocks = [chain.get_block_bytes(h) or b"" for h in range(1, chain.height + 1)]
    certificates = [chain.get_certificate(h) or b"" for h in range(1, chain.height + 1)]
    extra = [make_tx(net.ministry, AddMemberPayload("New University", "university",
                                                    net.outsider.public_key)),
             make_tx(net.ministry, SuspendPayload(net.university.member_id, "investigation")),
             make_tx(net.employer, AnchorPayload(b"\x07" * 32)),
             make_tx(net.ministry, ProposePayload(RevokeCredentialAction(
                 net.university.member_id, revoke.credential, "fraud"), 40, 30)),
             make_tx(net.ministry, ProposePayload(RevokeCredentialsAction(
                 net.university.member_id, (revoke.credential, CredentialRef(
                     batch.root, batch.target_hashes[0], 0,
                     tuple(audit_path(batch.target_hashes, 0)))), "court_decision"), 40, 30))]
    transactions = [tx.encode() for raw in blocks for tx in decode_block(raw).transactions]
    transactions += [tx.encode() for tx in extra]
    return World(net, chain, documents, transactions, blocks, certificates, bundle, vc)


def _signed(sender: ValidatorId, message: Message) -> SignedMessage:
    return sign_message(CHAIN_ID.encode(), sender, message, world().net.ministry.sign_raw)


def consensus_messages() -> list[Message]:
    w = world()
    block = w.blocks[0]
    digest = Digest(decode_certificate(w.certificates[0]).digest)
    me = ValidatorId(bytes(w.net.ministry.member_id))
    proposal, change = prepared_view_change(_signed, me, [ValidatorId(b"b" * 20)], View(1),
                                            Height(1), digest, block)
    return [proposal, Prepare(View(0), Height(1), digest), Commit(View(0), Height(1), digest, 1),
            change, ViewChange(View(3), Height(2), None),
            new_view_on(_signed, change, [me], _signed(me, proposal)),
            CommitProof(decode_certificate(w.certificates[-1]))]


def consensus_seeds() -> list[bytes]:
    me = ValidatorId(bytes(world().net.ministry.member_id))
    messages = consensus_messages()
    return ([encode_message(m) for m in messages]
            + [encode_signed(_signed(me, m)) for m in messages])


def safety_seeds() -> list[bytes]:
    change = consensus_messages()[3]
    assert isinstance(change, ViewChange) and change.prepared is not None
    digest = change.prepared.proposal.digest
    return [encode_safety_state(SafetyState(Height(1), View(0), True, None, None)),
            encode_safety_state(SafetyState(Height(1), View(1), True, Vote(View(1), digest),
                                            change.prepared)),
            encode_safety_state(SafetyState(Height(4), View(9), False, None, None))]


def handshake_peer() -> tuple[handshake.Started, handshake.Started]:
    """(our state, the peer's state), with fixed ephemerals so the peer's AUTH matches."""
    ours = handshake.start(handshake.Identity.from_seed(LOCAL_SEED), CHAIN_ID.encode(),
                           handshake.Role.RESPONDER,
                           X25519PrivateKey.from_private_bytes(LOCAL_EPHEMERAL))[0]
    theirs = handshake.start(handshake.Identity.from_seed(PEER_SEED), CHAIN_ID.encode(),
                             handshake.Role.INITIATOR,
                             X25519PrivateKey.from_private_bytes(PEER_EPHEMERAL))[0]
    return ours, theirs


def handshake_seeds() -> list[bytes]:
    """HELLO (tag 0) and AUTH (tag 1) as the peer sends them to us."""
    ours, theirs = handshake_peer()
    peer_hello = handshake.HELLO_MAGIC + theirs.ephemeral_public
    our_hello = handshake.HELLO_MAGIC + ours.ephemeral_public
    _, peer_auth = handshake.authenticate(theirs, our_hello)
    return [b"\x00" + peer_hello, b"\x01" + peer_auth]


def frame_seeds() -> list[bytes]:
    seeds = []
    for channel, payload in [(0, b""), (1, b"consensus"), (7, consensus_seeds()[-1]),
                             (255, b"\x00" * 300)]:
        seeds.append(FrameSealer(FRAME_KEY, MAX_FRAME_BYTES).seal(channel, payload))
    return seeds


def sync_seeds() -> list[bytes]:
    w = world()
    answer = [w.chain.height, [[b, c] for b, c in zip(w.blocks, w.certificates, strict=True)]]
    return [encode([1, 64]), encode([2, 1]), encode([0, 0]), encode(answer),
            encode([w.chain.height, []])]


def json_seed(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode()


def credential_seeds() -> list[bytes]:
    docs = world().documents
    escaped = copy.deepcopy(docs[0])
    escaped["fields"]["full_name"]["value"] = "\u0410\u0441\u0435\u043b"
    return [json_seed([d, []]) for d in docs] + [
        json_seed([docs[0], ["iin", "gpa"]]), json_seed([disclose(docs[1], ["iin"]), ["gpa"]]),
        json.dumps([escaped, ["full_name"]]).encode()]  # \u escapes for the mutator


def offline_seeds() -> list[bytes]:
    return [json_seed(world().bundle)]


def vc_seeds() -> list[bytes]:
    return [json_seed(world().vc)]


def genesis_seeds() -> list[bytes]:
    return [json_seed(world().genesis.to_json())]


def config_seeds() -> list[bytes]:
    full = render_config("node-1", "node.key", "genesis.json", "data", "127.0.0.1:8100",
                         "127.0.0.1:9100", ["127.0.0.1:9101", "127.0.0.1:9102"])
    node = b'[node]\nkey = "k"\ngenesis = "g.json"\ndata_dir = "d"\n'
    return [full.encode(), node + b'name = "a"\n',
            node + b'name = "x"\n[log]\nlevel = "debug"\nformat = "json"\n'
            b'[p2p]\nobservers = ["' + b"00ff" * 16 + b'"]\n[mempool]\nmax_txs = 5\n',
            node + b'name = "v"\n[vc]\nissuer_key = "k"\npublic_url = "https://a.kz"\n'
            b'https_listen = "127.0.0.1:8443"\ntls_cert = "c.pem"\ntls_key = "k.pem"\n']

"""One fuzz target per decoder: bytes in, a value or the decoder's documented error out.

`check(data)` returns True when the decoder accepted the input and False when it
refused it with its documented error type. Any other exception propagates: that is
the crash the fuzzer looks for. Decoders that take parsed JSON get the input as
JSON text or, when it is not JSON, as edits to a valid document (json_edits).
"""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consensus import (
    CorruptSafetyState,
    MalformedMessage,
    decode_certificate,
    decode_message,
    decode_safety_state,
    decode_signed,
)
from ledger.blocks import Header, decode_block
from ledger.credential_documents import disclose, parse_document
from ledger.errors import ConfigError, InvalidDocument, MalformedInput
from ledger.facts import LocalFacts
from ledger.genesis import genesis_from_json
from ledger.offline import OfflineFacts
from ledger.transactions import decode_transaction, tx_id_of_encoded
from ledger.vc.verify import verify_vc
from ledger.verification import verify_credential
from node.block_serve import serve_blocks
from node.config import load_config
from node.sync import BlockSync
from node.validators import ValidatorSet, certifies_by_keys
from p2p import handshake
from p2p.errors import RemoteProtocolError
from p2p.frames import FrameOpener
from tests.fuzz import json_edits, samples
from tests.node.conftest import CHAIN_ID

MAX_BLOCK_BYTES = 4 * 1024 * 1024
VC_NOW = datetime(2030, 1, 1, tzinfo=UTC)
SYNC_PEER = b"p" * 32


def _refused(errors: tuple[type[BaseException], ...], call: Callable[[], object]) -> bool:
    """Run `call`; True if it returned, False if it raised one of `errors`."""
    try:
        call()
    except errors:
        return False
    return True


@functools.cache
def _base_documents(name: str) -> list[Any]:
    return [json.loads(seed) for seed in TARGETS[name].seeds()]


def _json(data: bytes, name: str) -> tuple[bool, Any]:
    """The input as JSON text, or as edits to one of the target's valid documents."""
    return json_edits.parse(data, _base_documents(name))


def check_transaction(data: bytes) -> bool:
    tx_id = tx_id_of_encoded(data)
    assert tx_id is None or len(tx_id) == 32
    accepted = _refused((MalformedInput,), lambda: decode_transaction(data))
    if accepted:  # the fast id of a canonical transaction is its real id
        assert tx_id == decode_transaction(data).tx_id
    return accepted


def check_block(data: bytes) -> bool:
    _refused((MalformedInput,), lambda: Header.decode(data))
    return _refused((MalformedInput,), lambda: decode_block(data))


def check_certificate(data: bytes) -> bool:
    world = samples.world()
    for height in range(1, world.chain.height + 1):  # never raises: a bool for any bytes
        header = world.chain.get_block_bytes(height)
        assert header is not None
        assert isinstance(world.certifies(data, height, decode_block(header).block_hash), bool)
    return _refused((MalformedMessage,), lambda: decode_certificate(data))


def check_consensus_message(data: bytes) -> bool:
    message = _refused((MalformedMessage,), lambda: decode_message(data))
    signed = _refused((MalformedMessage,), lambda: decode_signed(data))
    return message or signed


def check_safety_state(data: bytes) -> bool:
    return _refused((CorruptSafetyState,),
                    lambda: decode_safety_state(data, MAX_BLOCK_BYTES))


@functools.cache
def _authenticating() -> handshake.Authenticating:
    ours, theirs = samples.handshake_peer()
    return handshake.authenticate(ours, handshake.HELLO_MAGIC + theirs.ephemeral_public)[0]


def check_handshake(data: bytes) -> bool:
    """First byte picks the message: even -> the peer's HELLO, odd -> the peer's AUTH."""
    if not data:
        return False
    body = data[1:]
    if data[0] % 2 == 0:
        ours, _ = samples.handshake_peer()
        return _refused((RemoteProtocolError,), lambda: handshake.authenticate(ours, body))
    return _refused((RemoteProtocolError,),
                    lambda: handshake.finish(_authenticating(), body, lambda key: True))


def check_frame(data: bytes) -> bool:
    def streamed() -> None:
        opener = FrameOpener(samples.FRAME_KEY, samples.MAX_FRAME_BYTES)
        length = opener.read_length(data[:4])
        opener.open_body(data[4:4 + length])

    _refused((RemoteProtocolError,), streamed)
    return _refused((RemoteProtocolError,), lambda: FrameOpener(
        samples.FRAME_KEY, samples.MAX_FRAME_BYTES).open(data))


def check_sync(data: bytes) -> bool:
    """Served as a request, then taken as the answer to our open question: asked at an
    empty chain's head, for the blocks from 1, where the seed answer's blocks start (an
    answer whose blocks start elsewhere is ignored as a late one)."""
    world = samples.world()
    answer = serve_blocks(world.chain, data)
    assert answer is None or isinstance(answer, bytes)
    sync = BlockSync(poll_ms=None)
    sync.want(world.chain.height + 5)
    assert sync.next_request(0, 0, [SYNC_PEER]) is not None
    items = sync.accept(SYNC_PEER, data, 0, 0)
    assert all(isinstance(b, bytes) and isinstance(c, bytes) for b, c in items)
    for block, certificate in items:  # what the engine does next with each item
        if _refused((MalformedInput,), functools.partial(decode_block, block)):
            world.certifies(certificate, 1, decode_block(block).block_hash)
    return answer is not None or bool(items)


def check_credential(data: bytes) -> bool:
    """Input: JSON [document, names to hide] as `senim disclose` takes them."""
    parsed, value = _json(data, "credential")
    if not parsed:
        return False
    document, hide = (value[0], value[1]) if isinstance(value, list) and len(value) == 2 \
        else (value, [])
    names = [name for name in hide if isinstance(name, str)] if isinstance(hide, list) else []
    facts = LocalFacts(samples.world().chain.state, "fuzz chain")
    verdict = verify_credential(document, facts, CHAIN_ID)
    assert isinstance(verdict.valid, bool)
    accepted = _refused((InvalidDocument,), lambda: parse_document(document))
    _refused((InvalidDocument,), lambda: disclose(document, names))
    return accepted


def check_offline(data: bytes) -> bool:
    parsed, bundle = _json(data, "offline_bundle")
    world = samples.world()
    return parsed and _refused((InvalidDocument,), lambda: OfflineFacts(
        bundle, world.genesis, certifies_by_keys(world.genesis.chain_id)))


def check_vc(data: bytes) -> bool:
    parsed, document = _json(data, "vc")
    if not parsed:
        return False
    world = samples.world()
    verdict = verify_vc(document, VC_NOW, LocalFacts(world.chain.state, "fuzz chain"),
                        CHAIN_ID)
    assert isinstance(verdict.valid, bool)
    return verdict.status != "malformed"


def check_genesis(data: bytes) -> bool:
    parsed, document = _json(data, "genesis")
    if not parsed:
        return False
    try:
        genesis = genesis_from_json(document)
    except ConfigError:
        return False
    # what a node computes from a genesis it accepted must not fail either
    assert genesis_from_json(genesis.to_json()) == genesis
    assert len(genesis.genesis_hash) == 32 and genesis.initial_state()
    ValidatorSet.from_genesis(genesis)
    return True


@functools.cache
def _config_path() -> Path:
    return Path(tempfile.mkdtemp(prefix="senim-fuzz-config-")) / "node.toml"


def check_config(data: bytes) -> bool:
    path = _config_path()
    path.write_bytes(data)
    return _refused((ConfigError,), lambda: load_config(path))


@dataclass(frozen=True)
class Target:
    check: Callable[[bytes], bool]
    seeds: Callable[[], list[bytes]]
    json_name: str | None = None  # set for targets that read JSON (see json_edits)

    def materialize(self, data: bytes) -> bytes:
        """The input as the decoder sees it, to keep as a regression input."""
        if self.json_name is None:
            return data
        parsed, document = _json(data, self.json_name)
        return json.dumps(document).encode() if parsed else data


TARGETS: dict[str, Target] = {
    "transaction": Target(check_transaction, lambda: samples.world().transactions),
    "block": Target(check_block, lambda: samples.world().blocks),
    "certificate": Target(check_certificate, lambda: samples.world().certificates),
    "consensus_message": Target(check_consensus_message, samples.consensus_seeds),
    "safety_state": Target(check_safety_state, samples.safety_seeds),
    "handshake": Target(check_handshake, samples.handshake_seeds),
    "frame": Target(check_frame, samples.frame_seeds),
    "sync": Target(check_sync, samples.sync_seeds),
    "credential": Target(check_credential, samples.credential_seeds, "credential"),
    "offline_bundle": Target(check_offline, samples.offline_seeds, "offline_bundle"),
    "vc": Target(check_vc, samples.vc_seeds, "vc"),
    "genesis": Target(check_genesis, samples.genesis_seeds, "genesis"),
    "config": Target(check_config, samples.config_seeds),
}

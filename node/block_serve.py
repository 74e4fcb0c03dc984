"""Serving block sync: the answer to another node's question, from the local chain.

A question is `[start, count]`; its answer the blocks from `start` on with their
certificates, at most MAX_BLOCKS_PER_RESPONSE of them and MAX_RESPONSE_BYTES (and the
block that passes it), after this node's height: `[height, [[block, certificate]...]]`.
The count's bits from BUSY_READ_BIT up are flags (BUSY_READ_BIT: the asker reads busy
answers, node.sync_busy), the bits below it the number of blocks asked. A release
before flags takes a flagged count as above MAX_BLOCKS_PER_RESPONSE and answers that
many, so an asker asks for that many (node.sync), and every release answers it alike.
"""

from __future__ import annotations

import contextlib

from ledger.chain import Chain
from ledger.codec import decode, encode
from ledger.errors import MalformedInput
from node.sync import MAX_BLOCKS_PER_RESPONSE, MAX_RESPONSE_BYTES
from node.sync_busy import BUSY_READ_BIT, is_height


def reads_busy(payload: bytes) -> bool:
    """Whether a block-sync question says its asker reads busy answers."""
    request = _question(payload)
    return request is not None and bool(request[1] & BUSY_READ_BIT)


def _question(payload: bytes) -> tuple[int, int] | None:
    """A block-sync question's start and count; None if it is junk."""
    request = None
    with contextlib.suppress(MalformedInput):
        request = decode(payload, max_arrays=1, max_items=2)
    if not (isinstance(request, list) and len(request) == 2
            and all(is_height(value) for value in request)):
        return None
    return request[0], request[1]


def serve_blocks(chain: Chain, payload: bytes) -> bytes | None:
    """Answer a peer's [start, count] with committed blocks and certificates; None if junk.

    Reads the store only, so the daemon runs it off both the event loop and the
    engine thread."""
    request = _question(payload)
    if request is None:
        return None
    start, count = max(1, request[0]), request[1] % BUSY_READ_BIT
    blocks: list[list[bytes]] = []
    size = 0
    for height in range(start, start + min(count, MAX_BLOCKS_PER_RESPONSE)):
        data = chain.get_block_bytes(height)
        cert = chain.get_certificate(height)
        if data is None or cert is None or (blocks and size + len(data) > MAX_RESPONSE_BYTES):
            break
        blocks.append([data, cert])
        size += len(data) + len(cert)
    return encode([chain.height, blocks])

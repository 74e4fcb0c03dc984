"""The child process of `node.signature_workers.SignatureWorkers`: checks batches of
signatures for the daemon, its parent, and exits when the parent's pipe closes.

    python -m node.signature_child

Each frame in is a 4-byte big-endian length and msgpack of [failures_max, list of
(public key, message, signature)]; each answer out is a 4-byte count and one byte per
check, 1 for good, stopping after `failures_max` bad ones when it is not 0. It imports
only what a check needs, so that it starts in a fraction of the daemon's time.
"""

from __future__ import annotations

import contextlib
import struct
import sys
from collections.abc import Iterable, Sequence
from typing import BinaryIO

import msgpack

from ledger.identity import verify_signature
from node.sigint_blocked import ignore_sigint

FRAME_LENGTH = struct.Struct(">I")
FRAME_BYTES_MAX = 64 << 20  # a batch of checks, as the child accepts it


def check_batch(checks: Iterable[Sequence[bytes]], failures_max: int) -> list[bool]:
    """An answer per (public key, message, signature), in order, stopping after
    `failures_max` bad ones when it is not 0 (a forged batch costs no more checks)."""
    answers: list[bool] = []
    failures = 0
    for key, message, signature in checks:
        answers.append(verify_signature(key, message, signature))
        if not answers[-1]:
            failures += 1
            if failures == failures_max:
                break
    return answers


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """A frame of checks in, a byte per check out, until the parent goes away."""
    while True:
        head = source.read(FRAME_LENGTH.size)
        if len(head) < FRAME_LENGTH.size:
            return  # the parent closed the pipe, or died
        (size,) = FRAME_LENGTH.unpack(head)
        frame = source.read(size) if size <= FRAME_BYTES_MAX else b""
        if len(frame) < size:
            return  # a frame the parent would never send: the parent is not itself
        failures_max, checks = msgpack.unpackb(frame, raw=False)
        answers = bytes(check_batch(checks, failures_max))
        sink.write(FRAME_LENGTH.pack(len(answers)) + answers)
        sink.flush()


if __name__ == "__main__":
    # Only the parent's pipe ends a child: a Ctrl-C at the daemon's terminal reaches its
    # whole process group, and the daemon stops in its own time. Started with SIGINT
    # blocked, the child drops one that came while it started.
    ignore_sigint()
    with contextlib.suppress(BrokenPipeError):
        serve(sys.stdin.buffer, sys.stdout.buffer)

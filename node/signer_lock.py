"""One running node per member key on a machine.

Two nodes started with one validator key (a config copied with its key_file, or the key
file copied beside another data dir) each sign their own votes, and a validator that
signs two different votes for one block is reported by the others for equivocation:
evidence against its ministry on chain for good. `node.own_votes` notices a second
signer only after the fact, from the votes peers relay; on one machine the second start
is refused instead.

The lock is a name in Linux's abstract socket namespace, derived from the member id (not
the key file's path, which a copy changes): no file to leave behind or to be swapped by
another user, and the kernel frees it when the node's process ends, however it ends
(kill -9 included). A node that cannot take such a name (another system) starts as
before, with the after-the-fact check alone.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import sys
import threading
import time

from ledger.errors import ConfigError
from node.start_checks import process_named

SIGNER_NAME_PREFIX = b"\0senim-signer-"
_PEER_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid
HOLDER_ASKED_S = 1.0  # how long a refused start waits to learn who holds the lock


class SignerLock:
    """The lock while the node runs; `close` frees the name."""

    def __init__(self, listening: socket.socket) -> None:
        self._listening = listening
        # Blocking whatever socket.setdefaulttimeout says: with a timeout, accept gave
        # up after it, and later probes found the queue full.
        listening.settimeout(None)
        # A connection nobody accepts stays in the listen queue after its prober has
        # gone: with two there, a third second start's probe timed out and named
        # "another process". Each is accepted and closed at once.
        self._turning_away = threading.Thread(target=self._turn_away, name="signer-lock",
                                              daemon=True)
        self._turning_away.start()

    def _turn_away(self) -> None:
        while True:
            try:
                probe, _ = self._listening.accept()
            except OSError:
                return  # shut down by `close`
            with contextlib.suppress(OSError):
                probe.close()

    def close(self) -> None:
        # A thread blocked in accept keeps the socket, and so its name, alive past a
        # plain close; shutting it down ends the accept.
        with contextlib.suppress(OSError):
            self._listening.shutdown(socket.SHUT_RDWR)
        self._listening.close()
        self._turning_away.join(timeout=5)


def hold_signer_lock(member_id: bytes) -> SignerLock | None:
    """Take this machine's lock on `member_id`'s key until the returned lock is closed
    (the node's life); ConfigError if another process holds it."""
    if not sys.platform.startswith("linux"):
        return None
    name = SIGNER_NAME_PREFIX + member_id.hex().encode()
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lock.bind(name)
        lock.listen(1)  # so that a second node can ask the kernel who holds it
    except OSError as exc:
        lock.close()
        if exc.errno != errno.EADDRINUSE:
            return None
        raise ConfigError("node.key_file", f"{_holder(name)} on this machine runs a node "
                          f"with this key (member "
                          f"{member_id.hex()[:16]}…): two nodes signing with one key sign "
                          "two different votes for a block, which the other validators "
                          "record as misbehaviour (equivocation) against this member; stop "
                          "the other node, or give this one its own key") from exc
    return SignerLock(lock)


def _holder(name: bytes) -> str:
    """Who listens on `name`, as the kernel tells it: 'process 4242 (senim node --config
    a.toml)', or 'another process'."""
    deadline = time.monotonic() + HOLDER_ASKED_S
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(HOLDER_ASKED_S)
                probe.connect(name)
                pid, _uid, _gid = _PEER_CREDENTIALS.unpack(probe.getsockopt(
                    socket.SOL_SOCKET, socket.SO_PEERCRED, _PEER_CREDENTIALS.size))
            return process_named(pid)
        except BlockingIOError:
            # A full listen queue, which a waiting connect would not wait out: the
            # holder turns each probe away, so it has room again in a moment.
            if time.monotonic() >= deadline:
                return "another process"
            time.sleep(0.01)
        except OSError:
            return "another process"

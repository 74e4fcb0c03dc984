"""Filling the chain's key filters (storage.key_filter) beside the running node.

Reading every key of a store takes about a second of CPU per million (more in time,
paced beside the node) and grows with the chain (the transaction index holds
every transaction), so a node does not wait for it: it serves at once, reading the
store for every key as before, and the filters take over once filled.
"""

from __future__ import annotations

import logging
import threading
import time

from ledger.chain import Chain
from storage.errors import StorageError

log = logging.getLogger("senim.daemon")

# Bits of each of a node's two key filters: 8 MiB each (storage.key_filter). A key the
# store does not hold still costs a read for 1.4% of keys once a filter holds 4 million
# (the state's values, or the transactions ever committed), and for 15% at 17 million:
# past that it saves fewer reads, and costs nothing more.
NODE_KEY_FILTER_BITS = 1 << 26
# The fill's pause after each chunk of keys (about 1 ms of its work): the engine thread
# then waits at most about that long for the GIL, rather than the interpreter's switch
# interval (5 ms) each time it takes it back, and the fill takes longer (600,000 keys:
# 2.1 s against 1.3 without the pauses, BENCHMARKS.md, session 49).
FILL_REST_S = 0.001


class KeyFilterFill:
    """One thread that fills `chain`'s key filters; `stop` it before the store closes."""

    def __init__(self, chain: Chain) -> None:
        self._chain = chain
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="senim-key-filters",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ends the fill and waits for it (it checks between chunks of keys)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def wait_ended(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the fill to end (filled, stopped or failed)."""
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _fill(self) -> None:
        started = time.monotonic()
        try:
            counts = self._chain.fill_key_filters(self._stopping, FILL_REST_S)
        except StorageError as exc:
            # Damage the node's own reads will meet and report; the filters stay unfilled,
            # so every key is read from the store as before.
            log.warning("key filters not filled (%s): every absent key is read from the store",
                        exc)
            return
        except Exception:  # a bug: said in the node's log, and the node goes on without
            log.exception("key filters not filled: every absent key is read from the store")
            return
        if counts is not None:
            log.info("key filters filled in %.1f s: %d state keys, %d transaction ids",
                     time.monotonic() - started, *counts)

"""The Merkle-indexed ledger state: a persistent authenticated map bytes -> bytes.

Its 32-byte root goes into every block header. The tree is the compact sparse
Merkle tree described in `storage.proofs` (path = SHA-256(key), one-leaf
subtrees collapsed into the leaf), so its shape and root depend only on the
contents, never on the order of history, and depth is about log2(n).

Persistence is incremental and position-addressed, under the caller's prefix P:

    P + b"r"                          the committed root hash
    P + b"n" + bits + depth (2 bytes) the node at that position (65 bytes)
    P + b"v" + key                    the value itself

A node's position (its depth and the bits of the paths below it) is its
address, so an update overwrites nodes in place: see `storage.state_nodes`.

Execution: `overlay()` gives a throw-away view; `commit(overlay)` returns the
KV writes that make it durable, which the caller puts in its block's single
atomic batch; after that write succeeds the caller calls `committed(overlay)`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from itertools import repeat

from storage.errors import CorruptStateError, StaleOverlayError
from storage.key_filter import KEY_FILTER_BITS, KeyFilter
from storage.kv import KeyValueReader, KeyValueStore
from storage.proofs import (
    EMPTY_HASH,
    HASH_BYTES,
    StateProof,
    decode_state_proof,
    encode_state_proof,
    key_path,
    state_proof_from_json,
    state_proof_to_json,
    value_hash,
    verify_state_proof,
)
from storage.state_nodes import (
    TOP,
    CommittedNodes,
    Node,
    SharedNodeCache,
    child,
    is_leaf,
    node_first,
    node_hash,
    node_second,
    prove_from,
)
from storage.state_overlay import KEY_BYTES_MAX, VALUE_BYTES_MAX, StateOverlay

__all__ = [
    "EMPTY_ROOT", "KEY_BYTES_MAX", "VALUE_BYTES_MAX", "StateOverlay", "StateProof", "StateTree",
    "decode_state_proof", "encode_state_proof", "state_proof_from_json", "state_proof_to_json",
    "verify_state_proof",
]

EMPTY_ROOT = EMPTY_HASH
LEAF_VALUES_CACHED_MAX = 100_000
# Checked values the owner keeps in memory: at most this many, each at most this long.
CHECKED_VALUES_MAX = 20_000
CHECKED_VALUE_BYTES_MAX = 4096
# How often a read overtaken by commits is tried again before it is called damage.
RACED_READS_MAX = 3
# Nodes the committer keeps in memory, about 230 bytes each with their place in the
# cache (so up to ~230 MB): a tree of up to ~400,000 entries is walked and rewritten
# without a store read (a leaf each, and ~1.44 branches a leaf, as in any binary trie
# of random paths: 977,435 nodes for 400,000 entries, measured). With 200,000 and a
# 4 MiB memtable, one validator's CPU a transaction doubled as its state grew from
# 40,000 to 220,000 entries; this cache alone took a quarter off the engine thread's
# part at 220,000 (BENCHMARKS.md, session 29).
STATE_NODES_CACHED_MAX = 1_000_000


class StateTree:
    """The committed state. See the module docstring for the commit protocol."""

    def __init__(self, kv: KeyValueStore, prefix: bytes,
                 cache_nodes_max: int = STATE_NODES_CACHED_MAX,
                 key_filter_bits: int = KEY_FILTER_BITS) -> None:
        if cache_nodes_max < 1:
            raise ValueError("cache_nodes_max must be at least 1")
        self._kv = kv
        self._root_key = prefix + b"r"
        self._value_prefix = prefix + b"v"
        self._nodes = CommittedNodes(kv, prefix + b"n", cache_nodes_max)
        self._generation = 0
        self._top = self._load_top()
        # key -> the value hash its leaf holds (b"" if it has none), so a key read
        # again is checked without a walk down the tree; forgotten when committed.
        # Only the committing thread (the owner) fills it and the node cache.
        self._leaf_values: dict[bytes, bytes] = {}
        # key -> its value, once read and checked against its leaf by the owner: the
        # same few records (a sender's member record, its accreditation) are read for
        # every transaction. Forgotten when committed, like the leaf hashes.
        self._checked_values: dict[bytes, bytes | None] = {}
        self._owner = threading.get_ident()
        self._view_nodes = SharedNodeCache(self._nodes.cache)
        # The keys that hold a value, once filled (`ledger.chain_reads` has
        # `fill_key_filters`): a key it does not hold is answered absent without a store
        # read where the walk checks it anyway.
        self.key_filter = KeyFilter(key_filter_bits)
        self._commits_started = 0  # _generation counts the finished ones
        self._pending: StateOverlay | None = None

    def _load_top(self) -> Node | None:
        """Read the root pointer and the top node, and check that they agree."""
        stored_root = self._kv.get(self._root_key)
        top = self._nodes.read_uncached(TOP)
        if stored_root is None and top is None:
            return None  # a state that was never committed
        if stored_root is None or len(stored_root) != HASH_BYTES:
            raise CorruptStateError("state root pointer is missing or not a 32-byte hash")
        if node_hash(top) != stored_root:
            raise CorruptStateError(
                f"stored state root {stored_root.hex()} does not match the stored top node"
            )
        return top

    @property
    def root(self) -> bytes:
        return node_hash(self._top)

    def get(self, key: bytes) -> bytes | None:
        """The committed value of `key`, or None, checked against the tree.

        The value is stored apart from its leaf, so a value damaged on disk (or a
        lost one) would otherwise be answered as if true: a revoked credential
        read as never revoked. Raises CorruptStateError when they disagree.

        Safe on any thread: a reader that a commit overtakes (the store already
        new, the tree in memory still old) is told apart from damage and reads again.
        """
        owner = threading.get_ident() == self._owner
        if owner and key in self._checked_values:
            return self._checked_values[key]
        for _ in range(RACED_READS_MAX):
            started, finished = self._commits_started, self._generation
            value = self._kv.get(self._value_prefix + key)
            if self._leaf_matches(key, value, owner):
                if owner:
                    self._remember_checked(key, value)
                return value
            pending = self._pending
            if pending is not None and ((key in pending._values and pending._values[key] == value)
                                        or self._leaf_matches_under(pending._top, key, value)):
                return value  # the value of the commit under way
            if started == finished == self._commits_started == self._generation:
                break  # no commit ran meanwhile: the store is damaged
        raise CorruptStateError(f"stored value of state key {key.hex()} does not match the "
                                "tree (damaged or lost on disk)")

    def get_unless_unwalked_absent(self, key: bytes) -> tuple[bytes | None, bool]:
        """(value, True) as `get` gives it; except that on the committing thread a key
        with no stored value whose leaf is not known yet gives (None, False) without
        the walk that checks it: the caller checks that absence itself (a
        `StateOverlay` with `defer_absence`, in the walk of its next root)."""
        if threading.get_ident() == self._owner:
            checked = self._checked_values
            if key in checked:  # as `get` answers it, without the call
                return checked[key], True
            if key not in self._leaf_values:
                if not self.key_filter.may_hold(key):
                    return None, False
                value = self._kv.get(self._value_prefix + key)
                if value is None:
                    return None, False
                # The committer's own reads race no commit: checked here, without a re-read.
                if self._leaf_matches(key, value, True):
                    self._remember_checked(key, value)
                    return value, True
        return self.get(key), True

    def _remember_checked(self, key: bytes, value: bytes | None) -> None:
        if value is None or len(value) <= CHECKED_VALUE_BYTES_MAX:
            if len(self._checked_values) >= CHECKED_VALUES_MAX:
                self._checked_values.clear()
            self._checked_values[key] = value

    def _leaf_matches_under(self, top: Node | None, key: bytes, value: bytes | None) -> bool:
        """Whether the tree under `top` (a commit's under way, from another thread) holds
        `value` for `key`. Its nodes are stored at the old ones' places, so once its
        writes are in, a key it left as it was no longer checks against the old tree."""
        path = key_path(key)
        try:
            leaf = self._nodes.leaf_on_path(top, int.from_bytes(path, "big"), False)
        except CorruptStateError:
            return False
        expected = node_second(leaf) if leaf is not None and node_first(leaf) == path else b""
        return (value_hash(value) if value is not None else b"") == expected

    def _leaf_matches(self, key: bytes, value: bytes | None, owner: bool) -> bool:
        expected = self._leaf_values.get(key)
        if expected is None:
            path = key_path(key)
            try:
                leaf = self._nodes.leaf_on_path(self._top, int.from_bytes(path, "big"), owner)
            except CorruptStateError:
                return False
            expected = node_second(leaf) if leaf is not None and node_first(leaf) == path else b""
            if owner:  # another thread's walk may be of a tree already replaced
                if len(self._leaf_values) >= LEAF_VALUES_CACHED_MAX:
                    self._leaf_values.clear()
                self._leaf_values[key] = expected
        return (value_hash(value) if value is not None else b"") == expected

    def overlay(self, defer_absence: bool = False) -> StateOverlay:
        """A throw-away view for executing one block; see `StateOverlay` for
        `defer_absence` (absent keys checked by the next `root()`, not by `get`)."""
        return StateOverlay(self, self._top, self._generation, defer_absence)

    def view(self, snapshot: KeyValueReader, key_filter: KeyFilter | None = None
             ) -> StateView:
        """Read-only view of the state as committed in `snapshot` of this tree's store.

        Another thread may read it while the owner commits: it reads the nodes of its
        snapshot, through this tree's committed-node cache only where a cached node's
        hash is the one its parent in the snapshot holds (no top node, no overlay).
        `key_filter`: `self.key_filter`, if it was ready before `snapshot` was taken
        (storage.key_filter); it then spares `get_presuming_absence` most store reads."""
        return StateView(snapshot, self._value_prefix, self._root_key, self._nodes.node_prefix,
                         key_filter, self._view_nodes)

    def prove(self, key: bytes) -> StateProof:
        """Proof of the committed value of `key`, or of its absence, against `self.root`."""
        return prove_from(self._top, self._nodes.read, key)

    def commit(self, overlay: StateOverlay) -> dict[bytes, bytes | None]:
        """The KV writes that make `overlay` durable, and seal it against further writes.

        Changes nothing here or on disk: the caller writes these in its block's
        one atomic batch, then calls `committed`.
        """
        self._check_own(overlay)
        new_root = overlay.root()
        overlay._sealed = True
        if threading.get_ident() != self._owner:  # caches filled by another thread
            self._leaf_values.clear()
            self._checked_values.clear()
        self._owner = threading.get_ident()
        self._pending = overlay
        self._commits_started = self._generation + 1
        writes: dict[bytes, bytes | None] = {}
        self._nodes.writes(overlay._written, writes)
        values = overlay._values
        self.key_filter.add(key for key, value in values.items() if value is not None)
        writes.update(zip(map(self._value_prefix.__add__, values), values.values(), strict=True))
        writes[self._root_key] = new_root
        return writes

    def committed(self, overlay: StateOverlay) -> None:
        """Adopt `overlay` as the committed state, once the writes of `commit` are durable.

        Every other overlay built on the previous state becomes stale.
        """
        self._check_own(overlay)
        if not overlay._sealed:
            raise StaleOverlayError("committed() needs the writes of commit() to be durable first")
        self._nodes.adopt(overlay._written)
        # What was remembered of the keys written is forgotten (two loops run by C).
        deque(map(self._leaf_values.pop, overlay._values, repeat(None)), maxlen=0)
        deque(map(self._checked_values.pop, overlay._values, repeat(None)), maxlen=0)
        self._top = overlay._top
        self._generation += 1
        self._pending = None

    def _check_own(self, overlay: StateOverlay) -> None:
        if overlay._tree is not self:
            raise StaleOverlayError("this overlay belongs to a different state tree")
        overlay._check_fresh()

    def audit(self) -> int:
        """Re-read the whole committed tree from the store, check it, and count the entries.

        O(n) reads and memory: an operator's consistency check and a test oracle,
        not for the hot path. Raises CorruptStateError on a hash mismatch, a
        non-canonical shape, a stored node no walk reaches, or a value that
        disagrees with its leaf.
        """
        leaves: dict[bytes, bytes] = {}
        reached = 0
        # (position, hash the parent holds, whether the parent's other child is empty)
        stack = [] if self._top is None else [(TOP, node_hash(self._top), False)]
        while stack:
            position, expected, only_child = stack.pop()
            node = self._nodes.read_uncached(position)
            if node is None or node_hash(node) != expected:
                raise CorruptStateError(f"state node at depth {position[0]} fails its parent hash")
            reached += 1
            if is_leaf(node):
                if only_child:
                    raise CorruptStateError(f"lone state leaf at depth {position[0]} not moved up")
                leaves[node_first(node)] = node_second(node)
                continue
            children = (node_first(node), node_second(node))
            for bit, child_hash in enumerate(children):
                if child_hash != EMPTY_HASH:
                    stack.append((child(position, bit), child_hash, EMPTY_HASH in children))
        stored = sum(1 for _ in self._kv.iterate_prefix(self._nodes.node_prefix))
        if stored != reached:
            raise CorruptStateError(f"{stored - reached} stored state nodes are unreachable")
        values = 0
        for key, value in self.iterate_items():
            if leaves.get(key_path(key)) != value_hash(value):
                raise CorruptStateError(f"stored value of state key {key!r} disagrees with leaf")
            values += 1
        if values != len(leaves):
            raise CorruptStateError(f"{len(leaves) - values} state leaves have no stored value")
        return values

    def items_with_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Committed (key, value) pairs whose key starts with `prefix`, in key order."""
        start = len(self._value_prefix)
        for stored_key, value in self._kv.iterate_prefix(self._value_prefix + prefix):
            yield stored_key[start:], value

    def iterate_items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every committed (key, value), in key order."""
        start = len(self._value_prefix)
        for stored_key, value in self._kv.iterate_prefix(self._value_prefix):
            yield stored_key[start:], value


VIEW_LEAVES_CACHED_MAX = 50_000  # checked values one view remembers


class StateView:
    """The committed values and root in one snapshot; see `StateTree.view`.

    Every value read is checked against its leaf, walking down from the root in the
    same snapshot, as `StateTree.get` does: a value damaged or lost on disk is an
    error, never an answer."""

    def __init__(self, snapshot: KeyValueReader, value_prefix: bytes, root_key: bytes,
                 node_prefix: bytes, key_filter: KeyFilter | None,
                 shared: SharedNodeCache) -> None:
        self._snapshot = snapshot
        self._key_filter = key_filter
        self._value_prefix = value_prefix
        self._root_key = root_key
        self._nodes = CommittedNodes(snapshot, node_prefix, 0)
        self._shared = shared
        self._root: bytes | None = None
        # key -> its value once checked; the snapshot never changes, so a key read
        # again (a sender's member record, once per transaction) is neither read nor
        # walked again.
        self._checked: dict[bytes, bytes | None] = {}

    @property
    def root(self) -> bytes:
        if self._root is None:  # the snapshot's root never changes: read it once
            self._root = self._snapshot.get(self._root_key) or EMPTY_HASH
        return self._root

    def get(self, key: bytes) -> bytes | None:
        if key in self._checked:
            return self._checked[key]
        value = self._snapshot.get(self._value_prefix + key)
        if (value_hash(value) if value is not None else b"") != self._leaf_value_hash(key):
            raise CorruptStateError(f"stored value of state key {key.hex()} does not match "
                                    "the tree (damaged or lost on disk)")
        if len(self._checked) < VIEW_LEAVES_CACHED_MAX and (
                value is None or len(value) <= CHECKED_VALUE_BYTES_MAX):
            self._checked[key] = value
        return value

    def get_presuming_absence(self, key: bytes) -> bytes | None:
        """As `get`, except that a key the store holds no value for is answered None
        without the walk that proves the tree holds none either. Only for answers that
        are provisional (admission, which the block's checked execution confirms): a
        value lost on disk reads as absent here."""
        if key in self._checked:
            return self._checked[key]
        key_filter = self._key_filter
        if ((key_filter is not None and not key_filter.may_hold(key))
                or self._snapshot.get(self._value_prefix + key) is None):
            return None
        return self.get(key)

    def value_hash(self, key: bytes) -> bytes:
        """The hash of `key`'s value (`storage.proofs.value_hash`) as the snapshot's tree
        holds it, or b"" if it holds none: whether a value changed between two snapshots,
        told without reading (or hashing) either value."""
        return self._leaf_value_hash(key)

    def _leaf_value_hash(self, key: bytes) -> bytes:
        """The value hash the tree holds for `key`, or b"" if it holds none."""
        path = key_path(key)
        leaf = self._shared.leaf_on_path(self.root, int.from_bytes(path, "big"), self._nodes)
        return node_second(leaf) if leaf is not None and node_first(leaf) == path else b""

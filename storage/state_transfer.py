"""Copying a committed state tree into an empty store, each piece checked as it arrives.

Export reads from a snapshot of the serving store: the nodes at given positions
(`storage.state_nodes`) and the values in key order. Import (`StateImport`)
knows only the root it must reach. It walks the tree top-down: a node is
accepted only if it hashes to what its parent names and could stand at its
position, so a wrong node is caught in the answer that brought it (and the tree
built is the one the root names: another would need a hash collision). The leaves
it accepts give every path's value hash; a value is accepted only if its key's
leaf holds that hash. Values the tree names but no answer brought are found
when the walk of the values ends (`missing_values`).

Everything is written under the tree's own prefix (layout in `storage.state_tree`);
the root pointer last, by `finish`, which the caller puts in its final batch.
"""

from __future__ import annotations

from collections.abc import Iterator

from storage.errors import CorruptStateError
from storage.kv import KeyValueReader
from storage.proofs import EMPTY_HASH, PATH_BITS, key_path, value_hash
from storage.state_nodes import (
    RECORD_BYTES,
    TOP,
    CommittedNodes,
    Node,
    Position,
    child,
    decode_node,
    is_leaf,
    node_first,
    node_hash,
    node_second,
)
from storage.state_overlay import KEY_BYTES_MAX, VALUE_BYTES_MAX

__all__ = ["KEY_BYTES_MAX", "RECORD_BYTES", "VALUE_BYTES_MAX", "Position", "StateExport",
           "StateImport", "position_from_wire", "position_to_wire"]

# The sub-prefixes of `storage.state_tree`'s layout.
_ROOT, _NODES, _VALUES = b"r", b"n", b"v"
# Positions waiting to be fetched or being fetched; the walk is depth-first, so this
# stays near (tree depth x batch size x questions open) however large the state is.
PENDING_MAX = 1_000_000


def position_to_wire(position: Position) -> list[object]:
    depth, bits = position
    width = (depth + 7) // 8
    return [depth, (bits << (width * 8 - depth)).to_bytes(width, "big")]


def position_from_wire(value: object) -> Position | None:
    """A position sent by a peer, or None if it is not one."""
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int)
            and not isinstance(value[0], bool) and isinstance(value[1], bytes)):
        return None
    depth, aligned = value
    if not 0 <= depth <= PATH_BITS or len(aligned) != (depth + 7) // 8:
        return None
    spare = len(aligned) * 8 - depth
    bits = int.from_bytes(aligned, "big")
    if bits & ((1 << spare) - 1):
        return None  # low bits beyond depth must be zero: one position, one spelling
    return depth, bits >> spare


class StateExport:
    """Reads a committed tree's nodes and values from one store snapshot."""

    def __init__(self, snapshot: KeyValueReader, prefix: bytes) -> None:
        self._snapshot = snapshot
        self._nodes = CommittedNodes(snapshot, prefix + _NODES, 1)
        self._value_prefix = prefix + _VALUES
        self.root = snapshot.get(prefix + _ROOT) or EMPTY_HASH
        # (last key served, the scan that goes on after it): a joining node asks for
        # the values in order, so each answer continues the previous scan.
        self._scans: dict[bytes, Iterator[tuple[bytes, bytes]]] = {}

    def nodes(self, positions: list[Position]) -> list[bytes]:
        """The stored record at each position (b"" where there is none)."""
        # Sent as stored, unchecked: the asker checks every node against its parent.
        return [self._snapshot.get(self._nodes.key(position)) or b"" for position in positions]

    def values(self, after: bytes, count: int, max_bytes: int, scans_max: int = 4
               ) -> tuple[list[tuple[bytes, bytes]], bool]:
        """Up to `count` (key, value) pairs with key > `after` (b"": from the first), at
        least one and about `max_bytes` at most; and whether the scan reached the end."""
        scan = self._scans.pop(after, None)
        if scan is None:
            scan = self._scan_after(after)
        start = len(self._value_prefix)
        found: list[tuple[bytes, bytes]] = []
        size = 0
        for stored_key, value in scan:
            found.append((stored_key[start:], value))
            size += len(stored_key) + len(value)
            if len(found) >= count or size >= max_bytes:
                if len(self._scans) >= scans_max:
                    self._scans.pop(next(iter(self._scans)))
                self._scans[found[-1][0]] = scan
                return found, False
        return found, True

    def _scan_after(self, after: bytes) -> Iterator[tuple[bytes, bytes]]:
        # A seek: a question for the values after the last key cost a walk over every
        # value before it (151 ms at 400,000), and any member may ask it again and again.
        return self._snapshot.iterate_prefix(
            self._value_prefix, self._value_prefix + after if after else None)


class StateImport:
    """Builds the tree with root `root` from nodes and values that peers send.

    `accept_nodes` and `accept_values` return the KV writes of what they
    accepted, or raise ValueError naming the first thing wrong in an answer
    (nothing of that answer is accepted then). `accept_values` also returns the
    values it checked: only those may be read, not the answer's items."""

    def __init__(self, prefix: bytes, root: bytes) -> None:
        self.root = root
        self._node_keys = CommittedNodes(_NoStore(), prefix + _NODES, 1)
        self._value_prefix = prefix + _VALUES
        self._root_key = prefix + _ROOT
        # Depth-first: the last pushed is fetched first.
        self._pending: list[tuple[Position, bytes]] = [] if root == EMPTY_HASH else [(TOP, root)]
        self._taken = 0  # positions handed out by `take`, not yet answered or given back
        # path -> the value hash its leaf holds, b"" once its value has arrived (a value
        # sent again by a later pass over the keys is then passed over).
        self._leaves: dict[bytes, bytes] = {}
        self._missing = 0
        self.nodes_done = 0
        self.values_done = 0

    @property
    def nodes_complete(self) -> bool:
        return not self._pending and not self._taken

    @property
    def nodes_pending(self) -> int:
        """Tree positions known and not yet taken by a question."""
        return len(self._pending)

    def missing_values(self) -> int:
        """Values the accepted leaves name that no answer has brought yet."""
        return self._missing

    def take(self, count: int) -> list[tuple[Position, bytes]]:
        """The next positions to fetch (the last of the pending ones, depth first), with
        the hash each node must have: wanted by no other question until answered
        (`accept_nodes`) or given back (`give_back`), so several may be asked at once."""
        taken = self._pending[len(self._pending) - min(count, len(self._pending)):]
        del self._pending[len(self._pending) - len(taken):]
        self._taken += len(taken)
        return taken

    def give_back(self, taken: list[tuple[Position, bytes]]) -> None:
        """Positions `take` handed out whose answer did not come or did not check."""
        self._pending.extend(taken)
        self._taken -= len(taken)

    def accept_nodes(self, taken: list[tuple[Position, bytes]], records: list[bytes]
                     ) -> dict[bytes, bytes | None]:
        """Check an answer for positions `take` handed out; if it raises, the caller
        still holds them (to give back)."""
        if len(records) != len(taken):
            raise ValueError(f"{len(records)} records for {len(taken)} positions")
        accepted: list[tuple[Position, Node]] = []
        for (position, expected), raw in zip(taken, records, strict=True):
            if not raw:
                raise ValueError(f"missing node at depth {position[0]}")
            try:
                node = decode_node(raw, position)
            except CorruptStateError as exc:
                raise ValueError(str(exc)) from exc
            if node_hash(node) != expected:
                raise ValueError(f"node at depth {position[0]} does not match its parent")
            accepted.append((position, node))
        writes: dict[bytes, bytes | None] = {}
        children: list[tuple[Position, bytes]] = []
        leaves: list[Node] = []
        for position, node in accepted:
            writes[self._node_keys.key(position)] = node[:RECORD_BYTES]
            if is_leaf(node):
                leaves.append(node)
                continue
            for bit, child_hash in ((1, node_second(node)), (0, node_first(node))):
                if child_hash != EMPTY_HASH:
                    children.append((child(position, bit), child_hash))
        if len(self._pending) + self._taken + len(children) > PENDING_MAX:
            raise ValueError("the tree is wider than any honest tree")
        self._taken -= len(taken)
        self._pending.extend(children)
        for leaf in leaves:
            self._leaves[node_first(leaf)] = node_second(leaf)
        self._missing += len(leaves)
        self.nodes_done += len(accepted)
        return writes

    def accept_values(self, after: bytes, items: list[tuple[bytes, bytes]]
                      ) -> tuple[dict[bytes, bytes | None], list[tuple[bytes, bytes]]]:
        """Check values sent for keys after `after`, in increasing key order; their
        writes, and the (key, value) pairs checked against their leaves now. A value
        already in is passed over unchecked (a peer may send it again, anything but the
        value that checked), so it is in neither."""
        previous = after
        fresh: list[tuple[bytes, bytes, bytes]] = []
        for key, value in items:
            if (previous and key <= previous) or not key or len(key) > KEY_BYTES_MAX:
                raise ValueError("values out of key order")
            if len(value) > VALUE_BYTES_MAX:
                raise ValueError("value larger than any state value")
            path = key_path(key)
            expected = self._leaves.get(path)
            if expected != b"":  # b"": accepted before, in an earlier pass
                if expected != value_hash(value):
                    raise ValueError(f"value of key {key.hex()[:16]} matches no leaf")
                fresh.append((path, key, value))
            previous = key
        writes: dict[bytes, bytes | None] = {}
        for path, key, value in fresh:
            self._leaves[path] = b""
            writes[self._value_prefix + key] = value
        self._missing -= len(fresh)
        self.values_done += len(fresh)
        return writes, [(key, value) for _, key, value in fresh]

    def finish(self) -> dict[bytes, bytes | None]:
        """The root pointer, once every node and value is in: the tree is then whole."""
        if self._pending or self._taken or self._missing:
            raise ValueError("the state is not complete")
        return {self._root_key: self.root}


class _NoStore:
    """Stands in for a store where `CommittedNodes` is used only for its key layout."""

    def get(self, key: bytes) -> bytes | None:
        del key
        return None

    def iterate_prefix(self, prefix: bytes, after: bytes | None = None
                       ) -> Iterator[tuple[bytes, bytes]]:
        del prefix, after
        return iter(())

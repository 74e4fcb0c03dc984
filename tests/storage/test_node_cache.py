"""The committer's node cache (`CommittedNodes`): what a commit leaves in it, in which
order (what a trim drops first), and its bound."""

from __future__ import annotations

from storage.kv import MemoryStore
from storage.state_nodes import CommittedNodes, Node, Position, branch_node
from storage.state_tree import StateTree
from tests.storage.state_trees import PREFIX, sha256, tree_with


def _node(label: int) -> Node:
    return branch_node(sha256(b"left %d" % label), sha256(b"right %d" % label))


def _cache_of(positions: list[Position], capacity: int) -> CommittedNodes:
    nodes = CommittedNodes(MemoryStore(), b"n", capacity)
    nodes.adopt({position: _node(index) for index, position in enumerate(positions)})
    return nodes


def test_a_commit_with_room_replaces_cached_nodes_where_they_are() -> None:
    nodes = _cache_of([(1, 0), (1, 1), (2, 0), (2, 1)], capacity=10)
    nodes.adopt({(1, 0): _node(10), (2, 1): None, (3, 0): _node(11)})
    # Replaced in place, removed, added at the recent end: no trim can follow, so the
    # order is left as it was.
    assert list(nodes.cache.items()) == [((1, 0), _node(10)), ((1, 1), _node(1)),
                                         ((2, 0), _node(2)), ((3, 0), _node(11))]


def test_a_commit_past_the_capacity_moves_its_nodes_to_the_recent_end() -> None:
    positions = [(8, bits) for bits in range(8)]
    nodes = _cache_of(positions, capacity=10)
    written: dict[Position, Node | None] = {(8, 0): _node(20), (8, 1): _node(21)}
    written.update(((9, bits), _node(22 + bits)) for bits in range(4))
    nodes.adopt(written)  # 8 cached and 6 written pass 10: the oldest unwritten go
    assert len(nodes.cache) <= 10
    assert list(nodes.cache)[-6:] == list(written)
    assert all(nodes.cache[position] == node for position, node in written.items())
    assert (8, 2) not in nodes.cache and (8, 7) in nodes.cache


def test_a_state_tree_keeps_its_cache_within_its_bound_and_its_answers_right() -> None:
    items = {b"cred/%d" % index: b"v" for index in range(400)}
    tree = tree_with(items)
    small = StateTree(tree._kv, PREFIX, cache_nodes_max=50)  # far fewer than its nodes
    for round_ in range(5):
        overlay = small.overlay()
        for index in range(round_, 400, 7):
            items[b"cred/%d" % index] = b"r%d" % round_
            overlay.set(b"cred/%d" % index, items[b"cred/%d" % index])
        small._kv.write(small.commit(overlay))
        small.committed(overlay)
        assert len(small._nodes.cache) <= 50
    assert all(small.get(key) == value for key, value in items.items())
    assert small.audit() == 400

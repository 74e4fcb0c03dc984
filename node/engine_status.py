"""What the engine tells operators: names, reachable validators, its status."""

from __future__ import annotations

from collections.abc import Collection

from consensus import Replica, max_faulty, quorum_size
from ledger.chain import Chain
from ledger.identity import KeyPair, member_id_of
from node.sync import BlockSync
from node.validators import ValidatorSet


class EngineStatus:
    """Read-only views of `node.engine.Engine`, kept apart from its inputs."""

    keys: KeyPair
    chain: Chain
    sync: BlockSync
    replica: Replica | None
    validators: ValidatorSet  # the set that certifies the next block
    _names: dict[bytes, str]
    _connected_given: Collection[bytes]

    def name_of(self, key: bytes) -> str:
        return self._names.get(member_id_of(key), "observer " + key.hex()[:12])

    def name_of_member(self, member: bytes) -> str:
        return self._names.get(member, member.hex()[:12])

    def primary_name(self) -> str:
        return self.name_of_member(self.replica.primary) if self.replica else ""

    def reachable_validators(self) -> tuple[list[str], list[str]]:
        """(reachable, unreachable) validator names, as this node sees them now."""
        connected = set(self._connected_given)
        reachable: list[str] = []
        unreachable: list[str] = []
        for vid, key in self.validators.public_keys.items():
            seen = key == self.keys.public_key or key in connected
            (reachable if seen else unreachable).append(self.name_of_member(vid))
        return reachable, unreachable

    def status(self) -> dict[str, object]:
        height = self.chain.height
        n = len(self.validators.ids)
        reachable, unreachable = self.reachable_validators()
        common = {"height": height, "behind": self.sync.behind(height), "validators": n,
                  "quorum": quorum_size(n), "reachable": reachable,
                  "unreachable": unreachable}
        if self.replica is None:
            return {"mode": "follower", **common}
        return {"mode": "pbft", "max_faulty": max_faulty(n), "view": self.replica.view,
                "primary": self.primary_name(), "phase": self.replica.phase.value, **common}

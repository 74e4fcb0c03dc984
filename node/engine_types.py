"""The engine's vocabulary with the daemon and the simulator: its role, its config,
what it reports, and the outbox it speaks through (see `node.engine`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from ledger.chain_run import Execution
from ledger.errors import TxRejected
from ledger.transactions import Transaction
from node.state_serve import SNAPSHOT_INTERVAL_BLOCKS

__all__ = ["CommitReport", "EngineConfig", "Outbox", "Refusals", "Role"]

Refusals = list[tuple[Transaction, TxRejected]]


class Role(Enum):
    VALIDATOR = "validator"
    FOLLOWER = "follower"


@dataclass(frozen=True)
class CommitReport:
    """A block is durable. `refused`: pending transactions that can no longer commit."""

    execution: Execution
    refused: Refusals
    source: str  # "consensus" or "sync"


class Outbox(Protocol):
    def send(self, peer_key: bytes, channel: int, payload: bytes) -> None: ...
    def committed(self, report: CommitReport) -> None: ...
    def refused(self, refusals: Refusals) -> None: ...


@dataclass(frozen=True)
class EngineConfig:
    view_timeout_ms: int
    max_block_txs: int
    follower_poll_ms: int = 500
    validator_poll_ms: int = 2_000  # a restarted validator catches up even if nobody talks
    # The heights every node snapshots for state sync (`node.state_serve.StateSnapshots`):
    # a run of synced blocks ends at each, so that the snapshot can be taken.
    snapshot_interval_blocks: int = SNAPSHOT_INTERVAL_BLOCKS

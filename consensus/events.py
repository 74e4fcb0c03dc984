"""What the driver (the node) feeds into `Replica.step`."""

from dataclasses import dataclass

from consensus.certificate import CommitCertificate
from consensus.types import Digest, Height, ValidatorId, View


@dataclass(frozen=True)
class Tick:
    """One unit of driver time passed (the node ticks about every 10 ms)."""


@dataclass(frozen=True)
class MessageReceived:
    """Raw bytes from the network. `sender_hint` is the transport-authenticated peer, if known;
    the replica authenticates the content itself and drops (and reports) junk."""

    sender_hint: ValidatorId | None
    data: bytes


@dataclass(frozen=True)
class WorkAvailable:
    """The mempool holds transactions. Re-send after each commit while it still does."""


@dataclass(frozen=True)
class BlockProposed:
    """Answer to ProposeBlock: the node built and executed this block."""

    height: Height
    view: View
    digest: Digest
    block: bytes


@dataclass(frozen=True)
class BlockExecuted:
    """Answer to ExecuteBlock. `valid` is False if the block breaks a ledger rule or its
    header does not hash to `digest`."""

    height: Height
    view: View
    digest: Digest
    valid: bool


@dataclass(frozen=True)
class BlockSynced:
    """The node fetched, verified (certificate included) and applied a committed block."""

    height: Height
    digest: Digest
    certificate: CommitCertificate


@dataclass(frozen=True)
class ValidatorsKnown:
    """The validators that certify the block at `height` (ordered; the order fixes the
    primaries). The driver says so for the replica's height and the next one after
    each commit: a set change takes effect at a block boundary, and a replica must
    know the next height's set before entering it (to count its early votes right)."""

    height: Height
    validators: tuple[ValidatorId, ...]


Event = (Tick | MessageReceived | WorkAvailable | BlockProposed | BlockExecuted | BlockSynced
         | ValidatorsKnown)

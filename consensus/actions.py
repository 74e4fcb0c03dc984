"""What `Replica.step` asks the driver to do, in list order (see the package docstring)."""

from dataclasses import dataclass

from consensus.certificate import CommitCertificate
from consensus.types import Digest, Height, ValidatorId, View


@dataclass(frozen=True)
class Persist:
    """Durably replace the replica's safety state with `data` BEFORE any later action."""

    data: bytes


@dataclass(frozen=True)
class Send:
    to: ValidatorId
    data: bytes


@dataclass(frozen=True)
class Broadcast:
    """Send `data` to every other validator (never back to this replica)."""

    data: bytes


@dataclass(frozen=True)
class ProposeBlock:
    """Build a block for (height, view) from the mempool, execute it, answer BlockProposed."""

    height: Height
    view: View


@dataclass(frozen=True)
class ExecuteBlock:
    """Check `digest` is the block's header hash, execute it, answer BlockExecuted.
    `forced`: a block re-proposed by a NewView, as a prepared certificate requires (it
    keeps the view it was first proposed in); else the block must be of `view`."""

    height: Height
    view: View
    digest: Digest
    block: bytes
    forced: bool = False


@dataclass(frozen=True)
class CommitBlock:
    """Write block, certificate and state change in one atomic batch (re-executing if the
    cached execution is for another block)."""

    height: Height
    digest: Digest
    block: bytes
    certificate: CommitCertificate


@dataclass(frozen=True)
class RequestSync:
    """A verified certificate shows the network is ahead: fetch committed blocks up to
    `target_height` (from `from_validator` or anyone), verify them, feed BlockSynced."""

    from_validator: ValidatorId
    target_height: Height


@dataclass(frozen=True)
class ReportEvidence:
    """Provable misbehaviour by `validator`: `first` (and `second`, or b"") are its signed
    messages as received on the wire."""

    kind: str
    validator: ValidatorId
    first: bytes
    second: bytes


@dataclass(frozen=True)
class Rejected:
    """Input dropped because it is invalid. `peer` is who handed it to us, if known."""

    reason: str
    peer: ValidatorId | None


@dataclass(frozen=True)
class ViewChanged:
    """The replica now operates in `view` (for logs and metrics)."""

    view: View


Action = (
    Persist | Send | Broadcast | ProposeBlock | ExecuteBlock | CommitBlock | RequestSync
    | ReportEvidence | Rejected | ViewChanged
)

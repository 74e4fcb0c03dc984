"""Errors raised by consensus. Each says whose fault it is.

The replica itself never raises on remote input: it drops it and reports a
`Rejected` or `ReportEvidence` action. These exceptions are raised by the
pure helpers (decoding, configuration) that the node may call directly.
"""


class ConsensusError(Exception):
    """Base class for consensus failures."""


class MalformedMessage(ConsensusError):
    """Remote fault: bytes from a peer are not a well-formed consensus value."""


class InvalidConfig(ConsensusError, ValueError):
    """Local fault: the replica configuration handed to us is unusable."""


class CorruptSafetyState(ConsensusError):
    """Local fault: the persisted safety state is unreadable or contradicts the ledger."""

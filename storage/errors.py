"""Errors raised by storage. Each says whose fault it is."""


class StorageError(Exception):
    """Base class for storage failures."""


class CorruptStateError(StorageError):
    """Local fault: bytes read back from disk do not match what was written."""


class DiskRefused(StorageError):
    """Local fault that damages nothing: the disk refused LevelDB a write or a read (full,
    read-only, not this user's or locked); the store holds what it held before, or that
    and the refused write whole (a refusal of its sync, or of the write count beside it)."""


class AccessRefused(DiskRefused):
    """A DiskRefused for files that are not this user's to read or write (EACCES), or are
    locked (EPERM: an immutable flag, a security policy): free space would not help;
    running as their owner, or fixing their owner or mode, or unlocking them, does."""


class InvalidProofError(StorageError):
    """Remote fault: a proof handed to us does not verify."""


class MalformedProofError(InvalidProofError):
    """Remote fault: proof bytes or JSON handed to us are not a well-formed proof."""


class InvalidStateEntryError(StorageError):
    """Local fault: the caller tried to stage a key or value the state cannot hold."""


class StaleOverlayError(StorageError):
    """Local fault: an overlay was used after the committed state moved past its base."""

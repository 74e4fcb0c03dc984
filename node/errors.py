"""Errors of the node package, each saying whose fault it is."""


class NodeError(Exception):
    """Base class."""


class MalformedInput(NodeError):
    """Remote fault: bytes or JSON that do not decode into what they claim to be."""


class TxRejected(NodeError):
    """Remote fault: a well-formed transaction that the ledger rules refuse.

    `code` is a stable machine-readable reason; the message is for people.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ConfigError(NodeError):
    """Operator fault: a config or consortium file that is missing or wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidDocument(NodeError):
    """Remote fault: a credential document that is not well-formed."""

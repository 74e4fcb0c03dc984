"""Errors of the domain, each saying whose fault it is."""


class SenimError(Exception):
    """Base class."""


class MalformedInput(SenimError):
    """Remote fault: bytes or JSON that do not decode into what they claim to be."""


class TxRejected(SenimError):
    """Remote fault: a well-formed transaction that the ledger rules refuse.

    `code` is a stable machine-readable reason; the message is for people.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ConfigError(SenimError):
    """Operator fault: a config or consortium file that is missing or wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class InvalidDocument(SenimError):
    """Remote fault: a credential document that is not well-formed."""


class NewerFormat(InvalidDocument):
    """A credential in a format version newer than this code reads: not known to be bad,
    only unreadable here until the verifier is updated."""

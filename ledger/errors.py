"""Errors of the domain, each saying whose fault it is."""


class SenimError(Exception):
    """Base class."""


class MalformedInput(SenimError):
    """Remote fault: bytes or JSON that do not decode into what they claim to be.

    `code`, where given, says what is wrong with a transaction's field, and `params` name
    the field and its bounds (ledger/payload_fields.py), so that a reader in another
    language is told it too; the message is the same in English."""

    def __init__(self, message: str, code: str | None = None, **params: str | int) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, str | int] = params

    def refusal_params(self) -> dict[str, str | int]:
        """What a refusal of it names (the API error's `params`): what is wrong as
        `problem`, with the field and its bounds; nothing when it has no code."""
        return {} if self.code is None else {**self.params, "problem": self.code}


class Unrecognised(MalformedInput):
    """A transaction version, kind or closed-list value (a credential type, a reason,
    a governance action) this release does not know, in an otherwise well-formed
    transaction. A later release may define it, so this release cannot judge it: it is
    refused wherever MalformedInput is, but it is no proof that its sender is faulty."""


class TxRejected(SenimError):
    """Remote fault: a well-formed transaction that the ledger rules refuse.

    `code` is a stable machine-readable reason; the message is for people, in English.
    `params` are the specifics the message names (the member, a height, a limit), by
    name, so that a reader in another language can be told them too; a refusal names
    only what its code's sentence can say.
    """

    def __init__(self, code: str, message: str, **params: str | int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params: dict[str, str | int] = params


class BadSignature(TxRejected):
    """`bad_signature`: the signature does not match the sender's key in this state.
    `sender`: the sender's member id; `key`: its key in this state (a node some blocks
    ahead may hold a rotation away from it). `key_changed`: the sender has rotated its
    key, so a node some blocks behind this one checks it against an earlier key, and may
    have found the signature good, unless `earlier_keys_ruled_out`: the earlier keys such
    a node could have held were tried, and none matched (node.earlier_keys)."""

    def __init__(self, sender: bytes, key: bytes, key_changed: bool,
                 earlier_keys_ruled_out: bool = False) -> None:
        super().__init__("bad_signature", "signature does not match the sender's key")
        self.sender = sender
        self.key = key
        self.key_changed = key_changed
        self.earlier_keys_ruled_out = earlier_keys_ruled_out

    @property
    def bad_for_nodes_behind(self) -> bool:
        """Whether a node at or behind this state would have found it bad too."""
        return not self.key_changed or self.earlier_keys_ruled_out


class ConfigError(SenimError):
    """Operator fault: a config or consortium file that is missing or wrong.

    `code`, where given, says what is wrong in a word a command line looks its sentence up
    by (`senim fsck`: cli.fsck_words), and `params` what that sentence names (a path, a
    bound, the value given); the message is the same in English."""

    def __init__(self, field: str, message: str, code: str | None = None,
                 **params: str | int) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.code = code
        self.params: dict[str, str | int] = params


class InvalidDocument(SenimError):
    """Remote fault: a credential document (or a record made into one) that is not
    well-formed.

    `code`, where given, says what is wrong in a stable word a command line looks its
    sentence up by (`doc.problem.<code>`: cli.spoken.document_problem), and `params` what
    that sentence names (a field, a line, a bound, what was given); the message is the
    same in English."""

    def __init__(self, message: str, code: str | None = None, **params: str | int) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, str | int] = params

    def within(self, where: str, **params: str | int) -> "InvalidDocument":
        """The same problem, said of the part `where` names ('record 3'), with `params`
        naming that part too."""
        return InvalidDocument(f"{where}: {self}", self.code, **{**self.params, **params})


class NewerFormat(InvalidDocument):
    """A credential in a format version newer than this code reads: not known to be bad,
    only unreadable here until the verifier is updated."""


class RulesVersionUnknown(SenimError):
    """Local fault: the chain runs under a rules version from `height` that this release
    does not know, so it cannot judge that block (it knows up to `known`). Not a verdict
    on the block: a node meeting it stops until its operator upgrades."""

    def __init__(self, version: int, height: int, known: int) -> None:
        super().__init__(
            f"the chain's ledger rules are version {version} from block {height}, which "
            f"this release does not know (it knows versions up to {known}): upgrade senim "
            f"to a release that knows rules version {version}, then start the node again; "
            f"nothing is damaged, and it goes on from block {height}")
        self.version = version
        self.height = height
        self.known = known

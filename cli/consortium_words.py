"""What `senim consortium create | fingerprint` and `senim verify --genesis` say of a
members or genesis file the ledger refuses (ledger.genesis, ledger.governance_policy and
node.files.load_genesis raise ConfigError, its message in English and what is wrong as a
code with its params), in the reader's language: the file, the field as written
(`genesis.members[2].role`), what is wrong with it as the catalogue's sentence for the
code (`min.genesis.*`). A refusal with a code not listed here is said in a frame, its
detail as the ledger wrote it."""

from __future__ import annotations

from cli.spoken import Sentence
from ledger.errors import ConfigError

# What is wrong with a genesis file's field (ledger.genesis, ledger.governance_policy),
# by its code, and the catalogue's sentence, which the error's params fill in.
GENESIS_FIELD_WORDS = {
    "not_table": "min.genesis.table",
    "unknown_field": "min.genesis.unknown",  # known
    "empty_text": "min.genesis.text",
    "not_one_of": "min.genesis.one_of",  # known, got
    "not_key": "min.genesis.public_key",
    "not_boolean": "min.genesis.boolean",
    "member_id_mismatch": "min.genesis.member_id",
    "chain_id_length": "min.genesis.chain_id",  # most
    "time_range": "min.genesis.time",
    "no_members": "min.genesis.no_members",
    "shared_key": "min.genesis.shared_key",
    "name_alike": "min.genesis.name_alike",  # name, earlier, other
    "name_invisible": "min.genesis.name_invisible",  # name, marks
    "name_character": "min.genesis.name_character",  # name, marks
    "no_validator": "min.genesis.no_validator",
    "out_of_range": "min.genesis.whole_number",  # low, high
    "not_genesis": "min.genesis.not_genesis",  # kind
}
# What is wrong with the file itself (node.files.load_genesis: senim consortium
# fingerprint); `senim fsck` says these with the path, by its own words (fsck.config.*).
GENESIS_FILE_WORDS = {
    "missing": "min.genesis.missing",
    "genesis_not_json": "min.genesis.not_json",  # line, column
    "unreadable": "min.genesis.unreadable",
}
# A file refused unread (code "unfit"), by its param `fault`.
UNFIT_WORDS = {"not_regular": "min.genesis.not_regular", "too_large": "min.genesis.too_large"}


def genesis_refusal(exc: ConfigError, path: object, english: str | None = None) -> Sentence:
    """`exc`, of the file `path`, as a sentence naming the file and the field; `english` is
    the line as the command says it in English, by default the error after the file's name
    (which a refusal of the file itself, one with a `path` param, names already)."""
    if english is None:
        english = str(exc) if "path" in exc.params else f"{path}: {exc}"
    why = genesis_why(exc)
    key = (GENESIS_FILE_WORDS.get(exc.code or "") if exc.code != "unfit"
           else UNFIT_WORDS.get(str(exc.params.get("fault"))))
    if why is None and key is not None:
        why = Sentence(key, str(exc), **exc.params)
    if why is None:
        return Sentence("min.genesis.other", english, path=path, why=str(exc))
    return Sentence("min.genesis.field", english, path=path, field=exc.field, why=why)


def genesis_why(exc: ConfigError) -> Sentence | None:
    """What is wrong with the genesis field `exc` names, as a sentence (None: no such
    refusal, or one whose code is not listed)."""
    key = GENESIS_FIELD_WORDS.get(exc.code or "")
    if key is None:
        return None
    return Sentence(key, str(exc).removeprefix(f"{exc.field}: "), **exc.params)

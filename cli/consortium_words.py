"""What `senim consortium create | fingerprint` says of a members or genesis file the
ledger refuses (ledger.genesis, ledger.governance_policy raise ConfigError in English), in
the ministry official's language: the field as written (`genesis.members[2].role`), what
is wrong with it as a sentence of the catalogue (`min.genesis.*`); one not listed here
is said in a frame, its detail as the ledger wrote it."""

from __future__ import annotations

import re

from cli.spoken import Sentence, first_match
from ledger.errors import ConfigError

# The ledger's words (after "field: ") and the catalogue's sentence for each.
GENESIS_REFUSALS = (
    (re.compile(r"must be a table/object|must be an object"), "min.genesis.table"),
    (re.compile(r"unknown field \(known: (?P<known>.*)\)"), "min.genesis.unknown"),
    (re.compile(r"must be non-empty text"), "min.genesis.text"),
    (re.compile(r"must be one of (?P<known>.*?)(, got (?P<got>.*))?"), "min.genesis.one_of"),
    (re.compile(r"must be hex|must be a 32-byte Ed25519 key in hex"), "min.genesis.public_key"),
    (re.compile(r"must be true or false"), "min.genesis.boolean"),
    (re.compile(r"does not match the public key"), "min.genesis.member_id"),
    (re.compile(r"must be text of 1 to (?P<most>\d+) characters"), "min.genesis.chain_id"),
    (re.compile(r"must be a non-negative 64-bit integer"), "min.genesis.time"),
    (re.compile(r"must be a non-empty list"), "min.genesis.no_members"),
    (re.compile(r"two members share one public key"), "min.genesis.shared_key"),
    (re.compile(r"at least one member must be a validator"), "min.genesis.no_validator"),
    (re.compile(r"must be a whole number from (?P<low>\d+) to (the )?(?P<high>\d+)"
                r"( ministries)?"), "min.genesis.whole_number"),
    # a genesis file read (senim consortium fingerprint: node.files.load_genesis)
    (re.compile(r"not a Senim genesis file \(kind must be (?P<kind>.+)\)"),
     "min.genesis.not_genesis"),
    (re.compile(r".* is not JSON \(.*, line (?P<line>\d+) column (?P<column>\d+)\): a genesis "
                r"file is the JSON file .*", re.S), "min.genesis.not_json"),
    (re.compile(r"cannot read .*", re.S), "min.genesis.unreadable"),
    (re.compile(r".* is .*, not a regular file; .*"), "min.genesis.not_regular"),
    (re.compile(r".* holds.* more than a .*"), "min.genesis.too_large"),
)


def genesis_refusal(exc: ConfigError, path: object, english: str) -> Sentence:
    """`exc`, of the file `path`, as a sentence; `english` is the line as the command says
    it in English."""
    why = genesis_why(exc)
    if why is None:
        return Sentence("min.genesis.other", english, path=path, why=str(exc))
    return Sentence("min.genesis.field", english, path=path, field=exc.field, why=why)


def genesis_why(exc: ConfigError) -> Sentence | None:
    """What is wrong with the field `exc` names, as a sentence (None: one not listed)."""
    why = str(exc).removeprefix(f"{exc.field}: ")
    found = first_match(GENESIS_REFUSALS, why)
    if found is None:
        return None
    key, values = found
    return Sentence(key, why, **values)

"""What `senim fsck` says of the errors it reports, in its operator's language: the
storage layer (storage/, LevelDB) and the config loader (node.config, node.files) raise
them in English, which `--lang en` prints as written. In Kazakh and Russian each kind
listed here is a sentence of the catalogue (`fsck.why.*`), its technical parts (a file, a
line, a depth) kept; one not listed is said in a frame, its detail as written (a bug
report quotes it). A config error is said by the code the loader gives it
(`fsck.config.*`)."""

from __future__ import annotations

import re

from cli.consortium_words import genesis_why
from cli.language import catalogue
from cli.spoken import Sentence, first_match
from ledger.errors import ConfigError, MalformedInput

# Why a record could not be used, as storage words it, and the catalogue's sentence.
DAMAGE_DETAILS = (
    (re.compile(r"LevelDB refuses .*?: Corruption: (block )?checksum mismatch"
                r"(: (?P<file>\S+))?.*", re.S), "fsck.why.checksum"),
    (re.compile(r"LevelDB refuses .*?: Corruption: .*", re.S), "fsck.why.corruption"),
    (re.compile(r"LevelDB refuses .*?: IO error: (?P<file>[^:]+).*", re.S), "fsck.why.io"),
    (re.compile(r"state (node|leaf|branch) at depth (?P<depth>\d+) .*"),
     "fsck.why.state_node"),
    (re.compile(r"(?P<count>\d+) stored state nodes are unreachable"),
     "fsck.why.state_unreachable"),
    (re.compile(r"stored value of state key \S+ (disagrees|does not match) .*"),
     "fsck.why.state_value"),
    (re.compile(r"(?P<count>\d+) state leaves have no stored value"), "fsck.why.state_no_value"),
    (re.compile(r"(state root pointer is missing|stored state root \S+ does not match).*"),
     "fsck.why.state_root"),
    (re.compile(r".* holds a used LevelDB store whose CURRENT file is missing; .*"),
     "fsck.why.no_current"),
    (re.compile(r"the chain database lost (?P<count>\d+) acknowledged write batches .*"),
     "fsck.why.lost_writes"),
    (re.compile(r"(?P<store>.+) has lost its (?P<file>\S+) file, .*"), "fsck.why.no_writes_file"),
    (re.compile(r"(?P<file>\S+) is damaged(: .*)?", re.S), "fsck.why.writes_file"),
)

# A process named by the kernel (node.start_checks.process_named).
PROCESS = re.compile(r"process (?P<pid>\d+)( \((?P<command>.*)\))?", re.S)


def detail(exc: BaseException | str) -> Sentence:
    """Why a record of the store could not be used (an error, or its text), in words."""
    text = str(exc)
    if isinstance(exc, MalformedInput | TypeError | ValueError):
        # a record read whole that does not decode: the decoder's words name no more
        return Sentence("fsck.why.undecodable", text)
    found = first_match(DAMAGE_DETAILS, text)
    if found is None:
        return Sentence("fsck.why.other", text, detail=text)
    key, values = found
    if key == "fsck.why.checksum" and not values["file"]:
        key = "fsck.why.checksum_somewhere"
    return Sentence(key, text, **values)


def config_refusal(exc: ConfigError) -> Sentence:
    """A config (or a file it names) the loader refuses, in words: the field as written.
    The loader codes what is wrong (node.config, node.config_document, node.files'
    load_genesis: `fsck.config.<code>`); a genesis file's own fields are said as `senim
    consortium` says them (cli.consortium_words)."""
    text = str(exc)
    why = genesis_why(exc)  # by a code of the genesis file's fields, none of the loader's
    if why is not None:
        return Sentence("fsck.config.genesis", text, field=exc.field, why=why)
    key = f"fsck.config.{exc.code}"
    if exc.code is not None and key in catalogue("en"):
        return Sentence(key, text, field=exc.field, **exc.params)
    return Sentence("fsck.config.other", text, detail=text)


def holder(text: str) -> Sentence | str:
    """Who holds the store's lock, as node.start_checks names it."""
    found = PROCESS.fullmatch(text)
    if found is None:
        return Sentence("fsck.holder.unknown", text)
    if found["command"] is None:
        return Sentence("fsck.holder.process", text, pid=found["pid"])
    return Sentence("fsck.holder.command", text, pid=found["pid"], command=found["command"])

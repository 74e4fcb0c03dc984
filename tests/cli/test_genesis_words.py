"""A genesis file the ledger refuses, said in the official's language by the code the
ledger gives each refusal (ledger.genesis, ledger.governance_policy, node.files.
load_genesis), never by matching its English words: `senim consortium fingerprint` and
`senim fsck` said them by regexes over the message, so any rewording of the English fell
through to a frame holding the English detail."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.consortium_words import GENESIS_FIELD_WORDS, genesis_refusal, genesis_why
from cli.fsck_words import config_refusal
from cli.language import catalogue
from cli.main import main
from ledger.errors import ConfigError
from ledger.genesis import genesis_from_json
from node.files import GENESIS_FILE_BYTES_MAX
from tests.cli.test_config_words import _calls, config_codes
from tests.cli.test_ministry_languages import PREFIX, said_in
from tests.cli.test_ministry_words import ROOT
from tests.node.conftest import make_consortium

LANGS = ("kk", "ru")
# Where a genesis file's fields are refused: every ConfigError there.
SOURCES = ("ledger/genesis.py", "ledger/governance_policy.py")


def _good() -> dict[str, Any]:
    document: dict[str, Any] = make_consortium().genesis.to_json()
    return document


def _member(**change: object) -> dict[str, Any]:
    document = _good()
    document["members"][1] = {**document["members"][1], **change}
    return document


def _spoilt() -> dict[str, tuple[dict[str, Any], str, dict[str, str]]]:
    """A genesis document spoilt in each way the ledger refuses one: (document, the code,
    what its sentence must name)."""
    good = _good()
    twin = {**good, "members": [*good["members"], good["members"][0]]}
    no_validator = {**good, "members": [{**m, "validator": False} for m in good["members"]]}
    # (a genesis under the current rules: `ledger.member_name_index`)
    alike = {**good, "members": [*good["members"][:2], {**good["members"][2], "name": "KAZNU"},
                                 *good["members"][3:]]}
    return {
        "another kind": ({**good, "kind": "x"}, "not_genesis", {"kind": "senim-genesis/v1"}),
        "a misspelt field": ({**good, "governence": {}}, "unknown_field", {"known": "chain_id"}),
        "a long chain id": ({**good, "chain_id": "c" * 65}, "chain_id_length", {"most": "64"}),
        "a negative time": ({**good, "genesis_time_ms": -1}, "time_range", {}),
        "a time of true": ({**good, "genesis_time_ms": True}, "time_range", {}),
        "no members": ({**good, "members": []}, "no_members", {}),
        "a member not a table": ({**good, "members": [1]}, "not_table", {}),
        "a member's unknown field": (_member(rol="x"), "unknown_field", {"known": "validator"}),
        "an empty name": (_member(name=" "), "empty_text", {}),
        "a role of none": (_member(role="college"), "not_one_of",
                           {"known": "ministry", "got": "'college'"}),
        "a key not hex": (_member(public_key="zz"), "not_key", {}),
        "a short key": (_member(public_key="ab" * 16), "not_key", {}),
        "validator not true or false": (_member(validator="yes"), "not_boolean", {}),
        "another member id": (_member(member_id="00" * 20), "member_id_mismatch", {}),
        "two members of one key": (twin, "shared_key", {}),
        "no validator": (no_validator, "no_validator", {}),
        "two names read alike": (alike, "name_alike", {"name": "'KAZNU'", "other": "'KazNU'"}),
        "an invisible character in a name": (_member(name="Kaz\u200bNU"), "name_invisible",
                                             {"marks": "U+200B"}),
        "a character newer than Unicode 3.2": (_member(name="K\U0001e030zNU"),
                                               "name_character", {"marks": "U+1E030"}),
        "governance not a table": ({**good, "governance": 5}, "not_table", {}),
        "governance's unknown field": ({**good, "governance": {"treshold": 1}},
                                       "unknown_field", {"known": "threshold"}),
        "voters of no kind": ({**good, "governance": {"voters": "all"}}, "not_one_of",
                              {"known": "ministries", "got": "'all'"}),
        "a threshold past the ministries": ({**good, "governance": {"threshold": 9}},
                                            "out_of_range", {"low": "1", "high": "1"}),
        "no validators at least": ({**good, "governance": {"min_validators": 0}},
                                   "out_of_range", {"low": "1"}),
        "rules version 0": ({**good, "rules_version": 0}, "out_of_range", {"low": "1"}),
    }


def test_every_genesis_field_refusal_has_a_code_with_a_sentence_in_every_language() -> None:
    codes: set[str] = set()
    for name in SOURCES:
        calls = list(_calls(ROOT / name, None))
        assert calls, name
        for call in calls:
            given = call.args[2] if len(call.args) > 2 else None
            assert isinstance(given, ast.Constant), f"{name}:{call.lineno}: no code"
            codes.add(str(given.value))
    assert sorted(codes - set(GENESIS_FIELD_WORDS)) == []
    for lang in ("en", *LANGS):
        assert sorted(key for key in GENESIS_FIELD_WORDS.values()
                      if key not in catalogue(lang)) == [], lang
    # fsck says a genesis field's code as `senim consortium` does, the loader's by its own
    # words: no code may be both
    assert sorted(config_codes() & set(GENESIS_FIELD_WORDS)) == []


@pytest.mark.parametrize("name", sorted(_spoilt()))
def test_a_genesis_refused_is_said_by_its_code(tmp_path: Path, name: str) -> None:
    document, code, named = _spoilt()[name]
    with pytest.raises(ConfigError) as raised:
        genesis_from_json(document)
    assert raised.value.code == code, raised.value
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(document), "utf-8")
    english = CliRunner().invoke(main, ["consortium", "fingerprint", str(path), "--lang", "en"])
    assert english.exit_code == 2 and english.output == f"error: {path}: {raised.value}\n", \
        english.output
    for lang in LANGS:
        said = said_in(lang, CliRunner().invoke(
            main, ["consortium", "fingerprint", str(path), "--lang", lang]), 2)
        why = catalogue(lang)[GENESIS_FIELD_WORDS[code]]
        fixed = why.split("{", 1)[0]  # the sentence's words up to its first value
        assert f"{raised.value.field}: {fixed}" in said, (lang, said)
        assert "{" not in said, said
        for value in named.values():
            assert value in said, (lang, value, said)


def test_the_code_is_read_not_the_english() -> None:
    """Reworded English is said the same: nothing matches its words."""
    reworded = ConfigError("genesis.members", "needs a validator among its members",
                           "no_validator")
    why = genesis_why(reworded)
    assert why is not None and why.key == "min.genesis.no_validator"
    refusal = genesis_refusal(reworded, "g.json", f"g.json: {reworded}")
    assert refusal.key == "min.genesis.field" and str(refusal) == f"g.json: {reworded}"
    fsck = config_refusal(ConfigError("members[1].role", "reworded", "not_one_of",
                                      known="ministry", got="'x'"))
    assert fsck.key == "fsck.config.genesis"  # a member's field too, not only genesis.*
    # the old English with no code is no longer guessed at: said in a frame, as written
    uncoded = ConfigError("genesis.members", "at least one member must be a validator")
    assert genesis_why(uncoded) is None


def test_a_file_that_is_no_genesis_is_said_by_its_code(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    large = tmp_path / "large.json"
    with large.open("wb") as out:
        out.truncate(GENESIS_FILE_BYTES_MAX + 1)
    toml = tmp_path / "members.toml"
    toml.write_text("chain_id = 'x'\n", "utf-8")
    cases: dict[Path, tuple[str, dict[str, int]]] = {
        pipe: ("min.genesis.not_regular", {}), large: ("min.genesis.too_large", {}),
        toml: ("min.genesis.not_json", {"line": 1, "column": 1})}
    for path, (key, params) in cases.items():
        for lang in LANGS:
            said = said_in(lang, CliRunner().invoke(
                main, ["consortium", "fingerprint", str(path), "--lang", lang]), 2)
            why = catalogue(lang)[key].format(**params)
            assert said == f"{PREFIX[lang]}{path}: genesis: {why}\n", (lang, said)


def test_a_huge_wrong_value_is_named_cut_short(tmp_path: Path) -> None:
    """A genesis file may hold 16 MiB: a role, a voters value or an unknown field's name of
    a megabyte was repeated whole in the refusal (and in a node's log line)."""
    huge = "x" * 1_000_000
    good = _good()
    cases = {"role": _member(role=huge), "voters": {**good, "governance": {"voters": [huge]}},
             "field": {**good, huge: 1}, "member's field": _member(**{huge: 1}),
             "governance's field": {**good, "governance": {huge: 1}}}
    for name, document in cases.items():
        path = tmp_path / "genesis.json"
        path.write_text(json.dumps(document), "utf-8")
        for lang in ("en", *LANGS):
            said = CliRunner().invoke(main, ["consortium", "fingerprint", str(path),
                                             "--lang", lang])
            assert said.exit_code == 2, (name, lang, said.output[:300])
            assert "x" * 30 in said.output and "x" * 41 not in said.output, (
                name, lang, said.output[:300])
            assert len(said.output) < 400, (name, lang, said.output[:300])

"""A genesis file refused is said naming the file and the field, and what is wrong with
the field, in the reader's language, by `senim verify --genesis` as by `senim consortium
fingerprint`: verify said in kk and ru only that the file was of no use ("unreadable, or
another file"), and both said in English the field ("members[1].role: …") but not the
file it is in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.consortium_words import GENESIS_FIELD_WORDS
from cli.language import catalogue
from cli.main import main
from ledger.credentials import make_batch
from ledger.errors import ConfigError
from ledger.genesis import genesis_from_json
from tests.cli.test_genesis_words import _spoilt
from tests.cli.test_ministry_languages import PREFIX, said_in
from tests.node.conftest import documents_of, make_consortium

ERROR = {**PREFIX, "en": "error: "}
DOWN = "http://127.0.0.1:1"  # nothing listens on port 1; the genesis is read before asking
# a field's refusal of each kind: a member's field, a top-level one, governance's
CASES = ("a role of none", "a misspelt field", "voters of no kind", "no validator")


def _credential(folder: Path) -> Path:
    consortium = make_consortium()
    batch = make_batch([{"full_name": "A", "position": "Analyst", "organisation": "Kaspi",
                         "start_date": "2025-02-01"}], "employment",
                       consortium.genesis.chain_id, consortium.employer.member_id, "Kaspi")
    path = folder / "employment.json"
    path.write_text(json.dumps(documents_of(batch)[0]), "utf-8")
    return path


def _commands(credential: Path, genesis: Path) -> dict[str, list[str]]:
    return {"fingerprint": ["consortium", "fingerprint", str(genesis)],
            "verify offline": ["verify", str(credential), "--offline", "--genesis",
                               str(genesis)],
            "verify": ["verify", str(credential), "--node", DOWN, "--genesis", str(genesis)]}


def _run(args: list[str], lang: str) -> Result:
    return CliRunner().invoke(main, [*args, "--lang", lang], prog_name="senim")


@pytest.mark.parametrize("case", CASES)
def test_a_genesis_field_refused_names_the_file_and_the_field(tmp_path: Path, case: str
                                                              ) -> None:
    document, code, named = _spoilt()[case]
    with pytest.raises(ConfigError) as raised:
        genesis_from_json(document)
    exc = raised.value
    genesis = tmp_path / "trusted-genesis.json"
    genesis.write_text(json.dumps(document), "utf-8")
    for command, args in _commands(_credential(tmp_path), genesis).items():
        english = _run(args, "en")
        assert english.exit_code == 2, (command, english.output)
        assert english.output == f"error: {genesis}: {exc}\n", (command, english.output)
        for lang in ("kk", "ru"):
            said = said_in(lang, _run(args, lang), 2)
            assert said.startswith(f"{ERROR[lang]}{genesis}: {exc.field}: "), (command, said)
            assert said.count("\n") == 1 and "{" not in said, said
            # what is wrong, in the reader's words: the sentence's words up to its first
            # value, and each value it names
            why = catalogue(lang)[GENESIS_FIELD_WORDS[code]].split("{", 1)[0]
            assert why in said, (command, lang, said)
            for value in named.values():
                assert value in said, (command, lang, value, said)


def test_a_file_that_is_no_genesis_is_said_alike_by_verify(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    members = tmp_path / "members.toml"
    members.write_text("chain_id = 'x'\n", "utf-8")
    credential = _credential(tmp_path)
    for genesis in (pipe, members):  # (fingerprint takes no folder: a usage error)
        for lang in ("en", "kk", "ru"):
            said = {command: _run(args, lang)
                    for command, args in _commands(credential, genesis).items()}
            assert {result.exit_code for result in said.values()} == {2}, said
            lines = {result.output for result in said.values()}
            assert len(lines) == 1, lines  # verify says it as fingerprint does
            line = lines.pop()
            assert line.startswith(ERROR[lang]) and str(genesis) in line, line

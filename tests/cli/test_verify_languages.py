"""`senim verify --lang kk|ru|en`: the verdict in the portal's own sentences, from the one
catalogue the portal reads (node/static/i18n/), the language taken from the locale when
not given; exit codes and `--json` the same in every language."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result

import cli.freshness
from cli.language import Words, catalogue, language_from_environment
from cli.main import main
from ledger import offline
from ledger.chain import Chain
from ledger.credentials import make_batch
from ledger.offline import make_bundle, proof_keys
from ledger.payloads import IssueBatchPayload
from ledger.validator_sets import VALIDATOR_SET_INDEX_KEY
from storage.kv import MemoryStore
from tests.node.conftest import (
    CHAIN_ID,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)

RECORDS = [{"full_name": "Aigerim Sadykova", "iin": "000000000001", "gpa": "3.4"}]


@pytest.mark.parametrize(("environment", "language"), [
    ({"LANG": "kk_KZ.UTF-8"}, "kk"), ({"LANG": "ru_RU.UTF-8"}, "ru"), ({"LANG": "ru_UA"}, "ru"),
    ({"LANG": "en_GB.UTF-8"}, "en"), ({"LANG": "de_DE.UTF-8"}, "en"), ({"LANG": "C"}, "en"),
    ({}, "en"), ({"LC_ALL": "ru_RU.UTF-8", "LC_MESSAGES": "kk_KZ", "LANG": "en_US"}, "ru"),
    ({"LC_MESSAGES": "kk_KZ.UTF-8", "LANG": "ru_RU.UTF-8"}, "kk"),
    ({"LC_ALL": "", "LANG": "kk_KZ.UTF-8"}, "kk"),  # set but empty: the next one decides
])
def test_the_language_comes_from_the_locale(environment: dict[str, str], language: str
                                            ) -> None:
    assert language_from_environment(environment) == language


@pytest.fixture
def proved(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A diploma carrying its offline proof, and the genesis file that checks it."""
    net = make_consortium()
    kv = MemoryStore()
    chain = Chain(kv, net.genesis)
    commit(chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch(RECORDS, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, 1))])
    document = documents_of(batch)[0]
    keys = proof_keys(batch.root, net.university.member_id,
                      bytes.fromhex(document["target_hash"]), [net.ministry.member_id])
    header = chain.head_header
    bundle = make_bundle(chain.state, header, chain.get_certificate(header.height) or b"",
                         keys, chain.set_change_proofs(0, 10))
    path = tmp_path / "diploma.json"
    path.write_text(json.dumps({**document, "proof": bundle}), "utf-8")
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(net.genesis.to_json()), "utf-8")
    yield path, genesis
    kv.close()


def verify(path: Path, genesis: Path, *args: str, env: dict[str, str] | None = None
           ) -> Result:
    return CliRunner().invoke(main, ["verify", str(path), "--offline", "--genesis",
                                     str(genesis), *args], env=env)


def first_line(result: Result) -> str:
    return result.output.splitlines()[0]


def test_the_verdict_is_the_portals_sentence_in_kazakh_and_russian(
        proved: tuple[Path, Path]) -> None:
    path, genesis = proved
    russian = verify(path, genesis, "--lang", "ru")
    assert russian.exit_code == 0, russian.output
    assert first_line(russian).startswith("Подлинный диплом: выдан организацией «KazNU» ")
    assert "не отозван на момент блока 2, созданного " in first_line(russian)
    assert "  6. ✔ Не отозван: Записей об отзыве нет." in russian.output
    kazakh = verify(path, genesis, "--lang", "kk")
    assert kazakh.exit_code == 0, kazakh.output
    assert first_line(kazakh).startswith("Түпнұсқа диплом: берген ұйым — «KazNU», ")
    assert "; 2 блок (" in first_line(kazakh) and "бойынша күші жойылмаған." in kazakh.output
    english = verify(path, genesis, "--lang", "en")
    assert first_line(english).startswith("VALID as of block 2 (")  # as kk and ru say it
    assert first_line(english).endswith("): genuine diploma issued by KazNU at height 2")


def test_the_locale_chooses_when_lang_is_not_given(proved: tuple[Path, Path]) -> None:
    path, genesis = proved
    kazakh = verify(path, genesis, env={"LC_ALL": "", "LC_MESSAGES": "", "LANG": "kk_KZ.UTF-8"})
    assert first_line(kazakh).startswith("Түпнұсқа диплом"), kazakh.output
    russian = verify(path, genesis, env={"LC_ALL": "ru_RU.UTF-8", "LANG": "kk_KZ.UTF-8"})
    assert first_line(russian).startswith("Подлинный диплом"), russian.output
    other = verify(path, genesis, env={"LC_ALL": "", "LC_MESSAGES": "", "LANG": "de_DE.UTF-8"})
    assert first_line(other).startswith("VALID as of block 2"), other.output
    chosen = verify(path, genesis, "--lang", "en", env={"LANG": "kk_KZ.UTF-8"})
    assert first_line(chosen).startswith("VALID as of block 2"), chosen.output


def test_json_and_exit_codes_are_the_same_in_every_language(
        proved: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path, genesis = proved
    # One clock for the three runs: the proof's block is over a day old, so each answer
    # gives its age in whole seconds, which moved on between runs half a second apart.
    now = time.time()
    monkeypatch.setattr(cli.freshness, "time", SimpleNamespace(time=lambda: now))
    answers = {lang: verify(path, genesis, "--json", "--lang", lang) for lang in ("kk", "ru")}
    english = verify(path, genesis, "--json", "--lang", "en")
    assert english.exit_code == 0
    for answer in answers.values():
        assert answer.exit_code == 0 and answer.output == english.output


def _cut_down(path: Path) -> Path:
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    document["proof"]["entries"] = [e for e in document["proof"]["entries"]
                                    if e["key"] != VALIDATOR_SET_INDEX_KEY.hex()]
    cut = path.with_name("cut.json")
    cut.write_text(json.dumps(document), "utf-8")
    return cut


def test_a_proof_cut_down_is_refused_in_each_language(proved: tuple[Path, Path]) -> None:
    path, genesis = proved
    cut = _cut_down(path)
    for lang in ("kk", "ru"):
        refused = verify(cut, genesis, "--lang", lang)
        assert refused.exit_code == 1
        assert first_line(refused) == catalogue(lang)["cli.proof.proof_no_index"]
    english = verify(cut, genesis, "--lang", "en")
    assert english.exit_code == 1
    assert first_line(english).startswith("UNPROVEN: cannot verify offline: the offline proof "
                                          "lacks the validator-set index")
    answers = {verify(cut, genesis, "--json", "--lang", lang).output for lang in LANGS}
    assert len(answers) == 1 and json.loads(answers.pop())["status"] == "unproven"


LANGS = ("kk", "ru", "en")


@pytest.mark.parametrize("asked", ["de", "kazakh", "", "EN-x"])
def test_an_unknown_language_is_a_one_line_usage_error(proved: tuple[Path, Path], asked: str
                                                       ) -> None:
    path, genesis = proved
    refused = verify(path, genesis, "--lang", asked)
    assert refused.exit_code == 2
    assert refused.output == (f"error: --lang must be one of kk, ru, en (Kazakh, Russian, "
                              f"English), not {asked!r}\n")


def test_every_refusal_of_an_offline_proof_has_its_sentence_in_every_language() -> None:
    """Each code ledger.offline refuses a proof with is said from the portal's catalogue
    (whose completeness across languages tests/browser/test_portal_bundle.py checks),
    not from a copy of it."""
    source = Path(offline.__file__).read_text("utf-8")
    codes = set(re.findall(r'ProofRefused\(\s*"(\w+)"', source))
    assert len(codes) >= 8, codes
    for lang in LANGS:
        table = catalogue(lang)
        assert {key for key in table if key.startswith("cli.proof.")} == {
            f"cli.proof.{code}" for code in codes}, lang


@pytest.fixture
def almaty(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Almaty")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_said_in_the_readers_zone_as_the_portal_says_them(almaty: None) -> None:
    russian, kazakh = Words("ru"), Words("kk")
    assert russian.datetime("2026-12-02 20:41:00 UTC") == "3 декабря 2026 г., 01:41 (UTC+5)"
    assert kazakh.date("2026-12-02 20:41:00 UTC") == "2026 жылғы 3 желтоқсан"
    assert kazakh.date("2026-06-30") == "2026 жылғы 30 маусым"  # a calendar day, as written
    assert russian.t("status.damaged").count("«{»") == 1  # a brace that names nothing stays


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_day_that_is_no_date_is_said_as_written(language: str) -> None:
    """An employment's start is the day its issuer hashed, which verification does not read
    as a date (a modified client, an older release): said as written, never a KeyError or
    ValueError traceback in place of the verdict."""
    words = Words(language)
    for written in ("2026-13-01", "2026-00-10", "2026-02-31"):
        assert words.date(written) == written
    assert words.datetime("2026-02-31 10:00:00 UTC") == "2026-02-31 10:00:00 UTC"
    assert words.time("2026-02-31 10:00:00 UTC") == ""

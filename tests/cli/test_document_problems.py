"""What is wrong with a credential document, or with a record the ledger refuses to make
into one, is said in Kazakh and Russian by the code the ledger gives it where it is raised
(ledger.errors.InvalidDocument's `code` and `params`: `doc.problem.<code>`), never by
matching its English; English keeps the message as written, --json too.

`senim share`, `prove` and `disclose` said only 'not a Senim credential: damaged or
another file' in kk and ru for every damaged file; `senim verify` the same of its document
check; and `senim supersede`, `revoke`, `issue` and `export-vc` put the ledger's English
inside a Kazakh or Russian line."""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli.language import Words, catalogue
from cli.main import main
from cli.spoken import document_problem
from ledger.credential_documents import parse_document
from ledger.errors import InvalidDocument
from tests.cli.test_ministry_words import ROOT
from tests.cli.test_verifier_lines_translated import english_in
from tests.node.conftest import make_consortium

LANGS = ("kk", "ru")
# What raises a document's problems; the VC-API's own (node/vc_*.py) answer an HTTP
# client in English, and no command prints them.
SOURCES = ("ledger", "cli")
# Where a code is passed on rather than written: (file, function).
PASSED_ON = {("ledger/errors.py", "within"), ("ledger/credential_documents.py", "_hex")}
RAISERS = {"InvalidDocument": 1, "NewerFormat": 1, "ProofRefused": 0}  # the code's place


def _functions(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            yield node.name, node


def _code_of(call: ast.Call, place: int) -> ast.expr | None:
    if len(call.args) > place:
        return call.args[place]
    return next((k.value for k in call.keywords if k.arg == "code"), None)


def problem_codes() -> dict[str, set[str]]:
    """Each code written at a raise site, by the catalogue prefix it is said under; a site
    with no code, or one whose code is no literal (nor passed on), fails here."""
    codes: dict[str, set[str]] = {"doc.problem.": set(), "cli.proof.": set()}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            tree = ast.parse(path.read_text("utf-8"))
            passing = {id(node) for function, scope in _functions(tree)
                       if (name, function) in PASSED_ON for node in ast.walk(scope)}
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                callee = node.func.id if isinstance(node.func, ast.Name) else None
                if callee == "_hex" and name == "ledger/credential_documents.py":
                    hexed = node.args[2]
                    assert isinstance(hexed, ast.Constant), f"{name}:{node.lineno}"
                    codes["doc.problem."].add(str(hexed.value))
                if callee is None or callee not in RAISERS:
                    continue
                given = _code_of(node, RAISERS[callee])
                where = f"{name}:{node.lineno}"
                if id(node) in passing:
                    continue
                assert given is not None, f"{where}: {callee} raised with no code"
                prefix = "cli.proof." if callee == "ProofRefused" else "doc.problem."
                branches = [given.body, given.orelse] if isinstance(given, ast.IfExp) else [given]
                for branch in branches:
                    assert isinstance(branch, ast.Constant), f"{where}: a code of no literal"
                    codes[prefix].add(str(branch.value))
    return codes


def test_every_raise_site_has_a_code_said_in_every_language() -> None:
    codes = problem_codes()
    assert len(codes["doc.problem."]) > 60, codes
    assert {"field_both", "salt", "line_grade", "vc_jsonld"} <= codes["doc.problem."]
    for lang in ("en", *LANGS):
        words = catalogue(lang)
        # document_problem says a code by doc.problem.<code>, else cli.proof.<code>
        assert sorted(f"{prefix}{code}" for prefix, found in codes.items() for code in found
                      if f"{prefix}{code}" not in words
                      and f"cli.proof.{code}" not in words) == [], lang
        assert "doc.problem.other" in words and "doc.problem.in_record" in words


def test_a_problem_is_said_by_its_code_and_english_stays_as_written() -> None:
    problem = InvalidDocument("credential lacks 'batch'", "lacks", part="'batch'")
    assert str(document_problem(problem)) == "credential lacks 'batch'"
    assert document_problem(problem).said(Words("kk")) == "құжатта 'batch' бөлігі жоқ"
    inner = InvalidDocument("field 'x' is empty or too long", "field_empty_or_long",
                            field="'x'")
    within = inner.within("record 3", record=3)
    assert str(within) == "record 3: field 'x' is empty or too long"
    assert document_problem(within).said(Words("ru")) == \
        "запись 3: поле 'x' пустое или слишком длинное"
    # a code this release does not know, or none: the general sentence, no English in it
    for unknown in (InvalidDocument("odd", "no_such_code"), InvalidDocument("odd")):
        assert document_problem(unknown).said(Words("kk")) == \
            catalogue("kk")["doc.problem.other"]


def _damaged(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The credential damaged as files reach an officer: each way parse_document refuses."""
    def changed(change: Any) -> dict[str, Any]:
        copied = copy.deepcopy(document)
        change(copied)
        return copied

    field = next(iter(document["fields"]))
    return {
        "a batch root that is no hex": changed(lambda d: d["batch"].__setitem__("root", "zz")),
        "a field both shown and hidden": changed(
            lambda d: d["fields"][field].__setitem__("hash", "00" * 32)),
        "no batch": changed(lambda d: d.pop("batch")),
        "a label of no field": changed(lambda d: d["labels"].__setitem__("x", {"kk": "a"})),
        "a short salt": changed(lambda d: d["fields"][field].__setitem__("salt", "abc")),
        "a field with nothing": changed(lambda d: d["fields"].__setitem__(field, {})),
        "a newer format": changed(lambda d: d.__setitem__("format", "senim-credential/v9")),
    }


@pytest.fixture
def damaged(tmp_path: Path) -> dict[str, Path]:
    from ledger.credentials import make_batch
    from tests.node.conftest import CHAIN_ID, documents_of

    net = make_consortium()
    batch = make_batch([{"full_name": "Aigerim", "gpa": "3.9"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    paths = {}
    for number, (name, document) in enumerate(_damaged(documents_of(batch)[0]).items()):
        with pytest.raises(InvalidDocument):
            parse_document(document)
        paths[name] = tmp_path / f"damaged-{number}.json"
        paths[name].write_text(json.dumps(document), "utf-8")
    (tmp_path / "genesis.json").write_text(json.dumps(net.genesis.to_json()), "utf-8")
    return paths


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="senim")


@pytest.mark.parametrize("command", ["share", "prove", "disclose"])
def test_a_damaged_credential_is_said_why_in_each_language(
        damaged: dict[str, Path], tmp_path: Path, command: str) -> None:
    extra = {"share": ["--node", "http://127.0.0.1:1"],
             "prove": ["--out", str(tmp_path / "o.json"), "--node", "http://127.0.0.1:1"],
             "disclose": ["--hide", "gpa", "--out", str(tmp_path / "o.json")]}[command]
    general = {lang: catalogue(lang)["cli.file.not_credential"].split(":")[0].replace(
        "{path}", "") for lang in LANGS}
    for name, path in damaged.items():
        english = _run(command, str(path), *extra, "--lang", "en")
        assert english.exit_code in (1, 2), english.output
        said = {lang: _run(command, str(path), *extra, "--lang", lang) for lang in LANGS}
        for lang, result in said.items():
            assert result.exit_code == english.exit_code, (name, lang, result.output)
            assert not english_in(result.output), (name, lang, result.output)
            if "newer" not in name:
                assert general[lang] not in result.output, (name, lang, result.output)
            line = result.output.strip()
            assert line.split(": ", 1)[1] != english.output.strip().split(": ", 1)[1]


from tests.cli import test_verify_across_set_changes as set_changes  # noqa: E402

net, node_url = set_changes.net, set_changes.node_url  # the fixtures: a node and a diploma


async def test_verify_says_what_is_wrong_with_a_damaged_credential(
        node_url: str, tmp_path: Path) -> None:
    """Its document check said only 'the file is not a readable Senim credential'."""
    document = json.loads((tmp_path / "diploma.json").read_text("utf-8"))
    for name, damaged in _damaged(document).items():
        path = tmp_path / "damaged.json"
        path.write_text(json.dumps(damaged), "utf-8")
        english = await set_changes.senim("verify", str(path), "--node", node_url,
                                          "--lang", "en")
        assert english.exit_code == 1, (name, english.output)
        json_answer = await set_changes.senim("verify", str(path), "--node", node_url,
                                              "--json", "--lang", "kk")
        checks = json.loads(json_answer.output)["checks"]
        assert checks[-1]["detail"] in english.output  # --json keeps the English
        for lang in LANGS:
            said = await set_changes.senim("verify", str(path), "--node", node_url,
                                           "--lang", lang)
            assert said.exit_code == 1, (name, lang, said.output)
            assert not english_in(said.output), (name, lang, said.output)
            check = said.output.splitlines()[2]
            assert catalogue(lang)["detail.document.fail"] not in check, (name, check)


def test_supersede_by_a_damaged_credential_says_why_without_english(
        damaged: dict[str, Path], tmp_path: Path) -> None:
    """'senim supersede OLD --by DAMAGED --lang kk' said the ledger's English after the
    file's name (cli.spoken.reason put the message in the line as its `why`)."""
    from node.files import save_key

    key = tmp_path / "kaznu.key"
    save_key(key, make_consortium().university)
    for name, path in damaged.items():
        args = ["supersede", "--key", str(key), str(path), "--by", str(path), "--node",
                "http://127.0.0.1:1"]
        english = _run(*args, "--lang", "en")
        assert english.exit_code == 2, (name, english.output)
        for lang in LANGS:
            said = _run(*args, "--lang", lang)
            assert said.exit_code == 2, (name, lang, said.output)
            assert not english_in(said.output), (name, lang, said.output)

"""Every line the verifier-facing commands print (senim verify, prove, share, disclose,
export-vc), their refusals, errors and usage errors included, is said in the officer's
language: each path is run under kk and ru, and no English sentence comes out; the exit
code is the one English gets. A static check keeps new lines from being written as
English literals in these commands."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from collections.abc import Callable, Collection
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import sharing, verify_command, verify_files
from cli.language import catalogue
from cli.main import main
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from node.files import save_key
from tests.cli import test_verify_across_set_changes as set_changes
from tests.cli.test_verify_across_set_changes import senim
from tests.e2e.processes import senim_executable
from tests.node.conftest import Consortium, documents_of, make_consortium

net, node_url = set_changes.net, set_changes.node_url  # the fixtures: a node and a diploma
LANGS = ("kk", "ru")
DOWN = "http://127.0.0.1:1"  # nothing listens on port 1: refused at once
# Three English words in a row is an English sentence; a command to type, a path, a URL
# or a format's name is not (taken out first).
ENGLISH = re.compile(r"\b[A-Za-z]{2,}\s+[A-Za-z]{2,}\s+[A-Za-z]{2,}\b")
NOT_PROSE = (re.compile(r"`[^`]*`"), re.compile(r"senim [a-z-]+( [A-Za-z.\-]+)*"),
             re.compile(r"\S*[/\\]\S*"), re.compile(r"W3C VC 2\.0"))


def english_in(output: str) -> list[str]:
    """The English sentences (and English-only prefixes) in `output`."""
    found = [line for line in output.splitlines()
             if re.match(r"\s*(error|Error|Usage|Try|Traceback|VALID|MALFORMED)\b", line)]
    for line in output.splitlines():
        for pattern in NOT_PROSE:
            line = pattern.sub(" ", line)
        found += ENGLISH.findall(line)
    return found


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, prog_name="senim")


def said_in_every_language(*args: str, code: int | None = None) -> dict[str, Result]:
    """`args` run in English, Kazakh and Russian: the same exit code each time, and no
    English in kk or ru."""
    results = {lang: run(*args, "--lang", lang) for lang in ("en", *LANGS)}
    english = results["en"]
    assert english.exception is None or isinstance(english.exception, SystemExit), \
        english.output
    if code is not None:
        assert english.exit_code == code, (args, english.output)
    for lang in LANGS:
        result = results[lang]
        assert result.exit_code == english.exit_code, (lang, args, result.output)
        assert result.output.strip(), (lang, args)
        assert not english_in(result.output), (lang, args, result.output)
    return results


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """What an officer is handed that no command can take as a credential."""
    credential = {"format": "senim-credential/v2", "chain_id": "x", "fields": {}}
    made = {"pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(200),
            "photo": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200),
            "video": b"\x00\x00\x00\x18ftypmp42" + bytes(200),
            "cut": json.dumps(credential).encode()[:30], "empty": b"",
            "text": "Здравствуйте, вот мой диплом".encode(),
            "vc_cut": b'{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": '
                      b'["VerifiableCredential"'}
    paths = {}
    for name, data in made.items():
        paths[name] = tmp_path / f"{name}.bin"
        paths[name].write_bytes(data)
    paths["folder"] = tmp_path
    paths["missing"] = tmp_path / "no-such-diploma.json"
    return paths


KINDS = ("pdf", "photo", "video", "cut", "empty", "text", "vc_cut", "folder", "missing")


@pytest.mark.parametrize("kind", KINDS)
def test_verify_says_what_a_wrong_file_is_in_each_language(files: dict[str, Path],
                                                          kind: str) -> None:
    said_in_every_language("verify", str(files[kind]), "--node", DOWN)
    said_in_every_language("verify", str(files[kind]), "--offline", "--genesis",
                           str(files["pdf"]))


@pytest.mark.parametrize("command", ["prove", "disclose", "share", "export-vc"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_holders_commands_refuse_a_wrong_file_in_each_language(
        files: dict[str, Path], tmp_path: Path, command: str, kind: str) -> None:
    extra = {"prove": ["--out", str(tmp_path / "out.json"), "--node", DOWN],
             "disclose": ["--hide", "iin", "--out", str(tmp_path / "out.json")],
             "share": ["--node", DOWN],
             "export-vc": ["--key", str(tmp_path / "key"), "--out", str(tmp_path / "o.json"),
                           "--node", DOWN]}[command]
    said_in_every_language(command, str(files[kind]), *extra, code=2)


USAGE_ERRORS: list[list[str]] = [
    ["verify"], ["verify", "X", "--bogus"], ["verify", "X", "--timeout", "abc"],
    ["verify", "X", "--timeout", "nan"], ["verify", "X", "extra"], ["verify", "X", "--node"],
    ["verify", "X", "--offline"], ["verify", "X", "--max-age", "5"],
    ["verify", "X", "--genesis", "/no/such/genesis.json"],
    ["prove", "X"], ["prove", "X", "--out", "Y", "--timeout", "-1"],
    ["share", "X", "--node", "127.0.0.1:8101"], ["disclose", "X", "--out", "Y"],
    ["disclose", "X", "--hide", " , ", "--out", "Y"],
    ["export-vc", "X", "--out", "Y"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_usage_errors_are_said_in_each_language(args: list[str], tmp_path: Path) -> None:
    credential = tmp_path / "diploma.json"
    credential.write_text('{"format": "senim-credential/v2"}', "utf-8")
    real = [str(credential) if a == "X" else str(tmp_path / "y.json") if a == "Y" else a
            for a in args]
    results = said_in_every_language(*real, code=2)
    assert results["ru"].output.startswith("ошибка: ")
    assert results["kk"].output.startswith("қате: ")


def test_the_locale_chooses_the_language_of_a_usage_error() -> None:
    russian = run("verify", "/no/such/diploma.json", env={"LC_ALL": "", "LC_MESSAGES": "",
                                                         "LANG": "ru_RU.UTF-8"})
    assert russian.exit_code == 2
    assert russian.output == ("ошибка: файла /no/such/diploma.json нет: проверьте его имя и "
                              "папку (см. senim verify --help)\n")
    unknown = run("verify", "/no/such/diploma.json", "--lang", "de",
                  env={"LC_ALL": "kk_KZ.UTF-8"})
    assert unknown.exit_code == 2 and unknown.output.startswith("қате: --lang мәні kk, ru, en ")


@pytest.mark.parametrize("node", [DOWN, "127.0.0.1:1", "http://[::1:1", "ftp://127.0.0.1"])
def test_a_node_that_cannot_be_asked_is_said_in_each_language(tmp_path: Path, node: str
                                                              ) -> None:
    # A well-formed credential: one failing its own checks is said so with no node asked.
    credential = tmp_path / "diploma.json"
    batch = make_batch([{"full_name": "Aigerim"}], "diploma", "senim-test",
                       KeyPair.generate().member_id, "KazNU")
    credential.write_text(json.dumps(documents_of(batch)[0]), "utf-8")
    out = str(tmp_path / "out.json")
    said_in_every_language("verify", str(credential), "--node", node, code=3)
    said_in_every_language("verify", str(files_anchor(tmp_path)), "--node", node, code=3)
    results = said_in_every_language("prove", str(credential), "--out", out, "--node", node)
    assert results["en"].exit_code in (2, 3)


def files_anchor(tmp_path: Path) -> Path:
    """A file that may be an anchored document (any bytes are)."""
    path = tmp_path / "thesis.txt"
    path.write_text("a thesis", "utf-8")
    return path


async def test_every_line_of_a_real_check_is_said_in_each_language(
        net: Consortium, node_url: str, tmp_path: Path) -> None:
    """The success lines too, against a node: verify (on its word and certified), prove,
    verify --offline, disclose, share with a QR code, export-vc and the VC's verify."""
    diploma, genesis = str(tmp_path / "diploma.json"), str(tmp_path / "genesis.json")
    key = tmp_path / "kaznu.key"
    save_key(key, net.university)
    other = tmp_path / "other-genesis.json"
    other.write_text(json.dumps(make_consortium("another-network").genesis.to_json()))
    for lang in LANGS:
        out = {name: str(tmp_path / f"{lang}-{name}") for name in
               ("proved.json", "shared.json", "qr.png", "vc.json")}
        other_network = catalogue(lang)["cli.status.other_genesis"]
        steps: list[tuple[list[str], Callable[[Result], bool]]] = [
            (["verify", diploma, "--node", node_url], lambda r: r.exit_code == 0),
            (["verify", diploma, "--node", node_url, "--genesis", genesis],
             lambda r: r.exit_code == 0),
            (["verify", diploma, "--node", node_url, "--genesis", str(other)],
             partial(_refused_with, said=other_network)),
            (["prove", diploma, "--out", out["proved.json"], "--node", node_url],
             lambda r: r.exit_code == 0),
            (["verify", out["proved.json"], "--offline", "--genesis", genesis],
             lambda r: r.exit_code == 0),
            (["verify", out["proved.json"], "--offline", "--genesis", str(other)],
             lambda r: r.exit_code == 1),
            (["disclose", diploma, "--hide", "gpa", "--out", out["shared.json"]],
             lambda r: r.exit_code == 0),
            (["disclose", diploma, "--hide", "iin", "--out", out["shared.json"]],
             lambda r: r.exit_code == 2),
            (["share", out["shared.json"], "--node", node_url, "--qr-png", out["qr.png"]],
             lambda r: r.exit_code == 0),
            (["export-vc", diploma, "--key", str(key), "--out", out["vc.json"], "--node",
              node_url], lambda r: r.exit_code == 0),
            (["verify", out["vc.json"], "--node", node_url], lambda r: r.exit_code == 0),
            (["verify", out["vc.json"], "--node", DOWN], lambda r: r.exit_code == 3),
        ]
        for args, expected in steps:
            result = await senim(*args, "--lang", lang)
            assert expected(result), (lang, args, result.output)
            shown = result.output.replace(node_url, "NODE").split("#doc")[0]
            assert not english_in(shown), (lang, args, result.output)


def _refused_with(result: Result, said: str) -> bool:
    return result.exit_code == 1 and result.output.startswith(said)


# The commands an officer (or the holder who hands the file over) runs, and the modules
# that hold their lines: none is written as an English literal.
VERIFIER_FUNCTIONS = {
    verify_command: None, verify_files: None, sharing: None,
    __import__("cli.verifying", fromlist=["_"]): {
        "prove_command", "_fetch_proof", "_write_out", "disclose_command",
        "_not_a_credential", "_undisclosed"},
    __import__("cli.vc", fromlist=["_"]): {"export_vc_command", "batch_keys"},
    __import__("cli.vc_verify", fromlist=["_"]): None,
    __import__("cli.vp", fromlist=["_"]): None,
}
PRINTERS = {"fail", "_fail", "echo", "secho"}


def english_literals(path: Path, functions: Collection[str] | None = None,
                     printers: Collection[str] = PRINTERS) -> list[str]:
    """Where the module at `path` (in `functions` of it; None: anywhere) prints a line from a
    string written in the code (a printer's first argument a literal or an f-string):
    "function:line" each (":line" outside any function)."""
    tree = ast.parse(path.read_text("utf-8"))
    places: list[tuple[str, ast.AST]] = [("", tree)] if functions is None else [
        (node.name, node) for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in functions]
    found = []
    for name, place in places:
        for call in ast.walk(place):
            if not isinstance(call, ast.Call) or not call.args:
                continue
            called = getattr(call.func, "attr", getattr(call.func, "id", ""))
            if called in printers and isinstance(call.args[0], ast.Constant | ast.JoinedStr):
                found.append(f"{name}:{call.lineno}")
    return found


def test_no_line_of_these_commands_is_an_english_literal() -> None:
    """A line printed with fail/echo from a string written in the code is English in
    every language: these commands print Sentences (cli.spoken) instead. English-only
    output (print_verdict, under --lang en) and --json are printed from variables."""
    literals = [f"{module.__name__}.{place}"
                for module, functions in VERIFIER_FUNCTIONS.items()
                for place in english_literals(Path(str(module.__file__)), functions)]
    assert not literals, literals


def test_an_unknown_key_holder_prints_no_traceback(tmp_path: Path) -> None:
    """export-vc given a key file of another member: refused in words, exit 2, before the
    node is asked (the node here is down: it was 'unreachable', exit 3, and the key was
    refused only once the node was back). The document is a real credential: '{}' was
    refused as no credential before the key was looked at."""
    key = tmp_path / "stranger.key"
    save_key(key, KeyPair.generate())
    university = make_consortium().university
    batch = make_batch([{"full_name": "Graduate", "programme": "Informatics"}], "diploma",
                       "senim-test", university.member_id, "KazNU")
    document = tmp_path / "diploma.json"
    document.write_text(json.dumps(documents_of(batch)[0]), "utf-8")
    said = said_in_every_language("export-vc", str(document), "--key", str(key), "--out",
                                  str(tmp_path / "vc.json"), "--node", DOWN, code=2)
    assert "this key is not the credential's issuer" in said["en"].output
    # the key refused is named in every language (kk and ru named the document instead)
    assert all(str(key) in result.output for result in said.values()), said
    assert not (tmp_path / "vc.json").exists()


def test_every_key_the_command_line_says_is_in_the_catalogue() -> None:
    """A Sentence names its key in the code; one the catalogue lacks would be a KeyError
    traceback where the line should be (the catalogue's languages agree on their keys:
    tests/browser/test_portal_bundle.py)."""
    source = "\n".join(path.read_text("utf-8")
                       for path in sorted((Path(__file__).parents[2] / "cli").glob("*.py")))
    keys = set(re.findall(r'Sentence\(\s*"([\w.]+)"', source))
    keys |= set(re.findall(r'\.t\(\s*"([\w.]+)"', source))
    assert len(keys) > 80, len(keys)
    english = catalogue("en")
    assert sorted(key for key in keys if key not in english) == []


async def test_a_damaged_proof_is_not_called_missing(node_url: str, tmp_path: Path) -> None:
    """Something in the proof's place that no `senim prove` wrote is a damaged proof: the
    holder told to add a proof would look at one already there."""
    document = json.loads((tmp_path / "diploma.json").read_text("utf-8"))
    genesis = str(tmp_path / "genesis.json")
    for damaged in ("abc", [1, 2], {"header": 5}):
        path = tmp_path / "damaged.json"
        path.write_text(json.dumps({**document, "proof": damaged}), "utf-8")
        for lang in LANGS:
            result = await senim("verify", str(path), "--offline", "--genesis", genesis,
                                 "--lang", lang)
            assert result.exit_code == 1
            assert result.output.splitlines()[0] == catalogue(lang)["cli.proof.proof_malformed"]


@pytest.mark.parametrize(("lang", "said"), [
    ("ru", "прервано: проверка остановлена до конца и не дала ответа; она ничего не изменила"),
    ("kk", "тоқтатылды: тексеру соңына дейін жетпей тоқтады және жауап бермеді; ол ештеңені "
           "өзгертпеді"),
    ("en", "interrupted: stopped before it finished; the check gave no verdict, and changed "
           "nothing")])
def test_ctrl_c_during_a_check_is_said_in_the_officers_language(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lang: str, said: str) -> None:
    """Not "a transaction it had already sent may still commit": a check sends none."""
    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(verify_command, "_verify", interrupted)
    result = run("verify", str(files_anchor(tmp_path)), "--lang", lang)
    assert result.exit_code == 130
    assert result.output.splitlines() == [said]


@pytest.mark.parametrize("encoding", ["cp1251", "koi8-r", "pt154"])
def test_a_console_that_lacks_a_letter_gets_the_verdict_not_a_traceback(
        files: dict[str, Path], encoding: str) -> None:
    """A Windows code page or a legacy kk_KZ/ru_RU locale has no '✔', and cp1251 and KOI8-R
    no Kazakh letters: the verdict is printed with those escaped, exit 1 as in UTF-8, and
    --json is the same JSON."""
    # A name the console cannot show: Kazakh Cyrillic, the Kazakh Latin alphabet's á (in no
    # Cyrillic code page; Python's escape '\\xe1' is no JSON), and one past U+FFFF.
    named = files["pdf"].with_name("Әлия-Álıa-\U0001f393-диплом.pdf")
    named.write_bytes(files["pdf"].read_bytes())
    pdf = str(named)
    for lang, json_flag in (("kk", ()), ("ru", ()), ("en", ()), ("kk", ("--json",))):
        def verify(encoding: str, lang: str = lang, json_flag: tuple[str, ...] = json_flag
                   ) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(
                [senim_executable(), "verify", pdf, "--offline", "--genesis", pdf, "--lang",
                 lang, *json_flag], env={**os.environ, "PYTHONIOENCODING": encoding},
                capture_output=True, timeout=60, check=False)
        run_ = verify(encoding)
        assert run_.returncode == 1, run_.stderr.decode(encoding, "replace")
        assert b"Traceback" not in run_.stderr and b"Error" not in run_.stderr
        assert run_.stdout.decode(encoding).count("\n") >= 3
        if json_flag:
            assert json.loads(run_.stdout.decode(encoding)) == json.loads(verify("utf-8").stdout)


@pytest.mark.parametrize("command", ["verify", "prove", "share", "disclose", "export-vc"])
def test_help_is_said_in_each_language(command: str) -> None:
    """--help too: every option's words, the headings and the defaults."""
    results = said_in_every_language(command, "--help", code=0)
    assert results["en"].output.startswith(f"Usage: senim {command} [OPTIONS] FILE")
    for lang in LANGS:
        shown = results[lang].output
        for pattern in NOT_PROSE:
            shown = pattern.sub(" ", shown)
        assert not re.findall(r"\b(the|or|and|of|is|to|with|a|an)\b", shown), (lang, shown)
        assert shown.count("--") >= 4, shown  # each option listed

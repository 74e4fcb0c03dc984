"""Every refusal of a node config that `senim fsck` can print is said in Kazakh and
Russian: the loader (node.config, node.config_document, node.files.load_genesis) gives
each ConfigError a code, whose sentence (`fsck.config.<code>`) is in every catalogue; a
genesis file's own fields are said as `senim consortium` says them. fsck said 'p2p.peers:
must be a list of 'host:port'' and 'log.level: must be debug, info, warning or error'
inside a Kazakh or Russian line. So is a member key file a command refuses
(node.files.load_key, refuse_unsafe_secret: `cli.key.problem.<code>`)."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.language import catalogue
from cli.main import main
from node.config import render_config
from node.files import save_key
from tests.cli.test_ministry_languages import said_in
from tests.cli.test_ministry_words import ROOT
from tests.node.conftest import make_consortium

LANGS = ("kk", "ru")
# Where fsck's config errors are raised: a file, and the functions of it (None: all).
LOADER = {"node/config.py": None, "node/config_document.py": None,
          "node/files.py": {"load_genesis"}}


def _calls(path: Path, functions: set[str] | None) -> Iterator[ast.Call]:
    tree = ast.parse(path.read_text("utf-8"))
    scopes = [tree] if functions is None else [
        node for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in functions]
    for scope in scopes:
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "ConfigError":
                yield node


def config_codes() -> set[str]:
    """The codes the loader gives its ConfigErrors: each call names one, as a string or
    as what a helper returned (`Refusal`: a message, its code, its params)."""
    codes: set[str] = set()
    for name, functions in LOADER.items():
        path = ROOT / name
        calls = list(_calls(path, functions))
        assert calls, name
        for call in calls:
            given = call.args[2] if len(call.args) > 2 else next(
                (k.value for k in call.keywords if k.arg == "code"), None)
            assert given is not None, f"{name}:{call.lineno}: a ConfigError with no code"
            if isinstance(given, ast.Constant):
                codes.add(str(given.value))
            else:
                assert isinstance(given, ast.Name | ast.IfExp), f"{name}:{call.lineno}"
                if isinstance(given, ast.IfExp):
                    codes |= {str(branch.value) for branch in (given.body, given.orelse)
                              if isinstance(branch, ast.Constant)}
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) \
                    and len(node.value.elts) == 3 \
                    and isinstance(node.value.elts[1], ast.Constant):
                codes.add(str(node.value.elts[1].value))
    return codes


def test_every_config_error_fsck_can_print_has_a_sentence_in_every_language() -> None:
    codes = config_codes()
    assert {"peers", "log_level", "address_port", "unknown_key_close", "missing"} <= codes
    for lang in ("en", *LANGS):
        assert sorted(code for code in codes
                      if f"fsck.config.{code}" not in catalogue(lang)) == [], lang


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    net = make_consortium()
    save_key(tmp_path / "node.key", net.ministry)
    (tmp_path / "genesis.json").write_text(json.dumps(net.genesis.to_json()), "utf-8")
    (tmp_path / "members.toml").write_text("[x]\n", "utf-8")
    (tmp_path / "data").mkdir()
    return tmp_path


def _config(peers: object = (), **sections: dict[str, object]) -> str:
    text = render_config("ministry-1", "node.key", "genesis.json", "data", "127.0.0.1:0",
                         "127.0.0.1:0", [])
    text = text.replace("peers = []", f"peers = {json.dumps(peers)}")
    for section, values in sections.items():
        text += f"\n[{section}]\n" + "".join(f"{k} = {json.dumps(v)}\n"
                                             for k, v in values.items())
    return text


BAD_CONFIGS = {
    "peers not a list": _config("a:1"),
    "a peer without a port": _config(["nohost"]),
    "an IPv6 peer without brackets": _config(["::1:9"]),
    "no IPv6 address in brackets": _config(["[zz]:9"]),
    "a link-local peer": _config(["[fe80::1]:9"]),
    "observers not hex": _config().replace(
        "peers = []", 'peers = []\nobservers = ["zz"]'),
    "an observer too short": _config().replace("peers = []", 'peers = []\nobservers = ["ab"]'),
    "log level": _config().replace('level = "info"', 'level = "verbose"'),
    "log format": _config().replace('level = "info"', 'format = "xml"'),
    "listen not text": _config().replace('listen = "127.0.0.1:0"', "listen = 5", 1),
    "rate_exempt": _config().replace("[api]\n", '[api]\nrate_exempt = ["x"]\n'),
    "state_sync": _config(sync={"state_sync": 1}),
    "vc public_url": _config(vc={"public_url": "ftp://x"}),
    "vc https without tls": _config(vc={"https_listen": "127.0.0.1:1"}),
    "an integer out of range": _config(consensus={"max_block_txs": 0}),
    "a home folder": _config().replace('key = "node.key"', 'key = "~no-such-user-x/k"'),
    "a table as a value": _config().replace("[api]\n", "").replace(
        'listen = "127.0.0.1:0"\n', 'api = 5\n', 1),
    "no genesis": _config().replace('"genesis.json"', '"no-such.json"'),
    "a genesis that is TOML": _config().replace('"genesis.json"', '"members.toml"'),
    "a genesis that is a key": _config().replace('"genesis.json"', '"node.key"'),
    "a genesis that is a folder": _config().replace('"genesis.json"', '"data"'),
    "a node name of two lines": _config().replace('"ministry-1"', '"two\\nlines"'),
    "cpus named twice": _config().replace('data_dir = "data"', 'data_dir = "data"\ncpus = [0, 0]'),
    "TOML too deep": "a = " + "[" * 2000 + "]" * 2000,
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_fsck_says_each_config_error_without_english(folder: Path, name: str) -> None:
    config = folder / "node.toml"
    config.write_text(BAD_CONFIGS[name], "utf-8")
    english = CliRunner().invoke(main, ["fsck", "--config", str(config), "--lang", "en"])
    assert english.exit_code == 2 and english.output.startswith("error: bad config "), \
        english.output
    # what is wrong, after the field, as the loader words it in English
    why = english.output.strip().split(f"bad config {config}: ", 1)[1].partition(": ")[2]
    for lang in LANGS:
        result = CliRunner().invoke(main, ["fsck", "--config", str(config), "--lang", lang])
        said = said_in(lang, result, 2)
        assert len(said.splitlines()) == 1, said
        assert why not in said, said


# Key loader codes said by a sentence of their own rather than cli.key.problem.<code>.
KEY_CODES_SAID_APART = {"key_missing", "key_kind", "key_unfit"}


def test_every_key_file_refusal_has_a_sentence_in_every_language() -> None:
    codes: set[str] = set()
    for call in _calls(ROOT / "node/files.py", {"load_key", "refuse_unsafe_secret"}):
        given = call.args[2] if len(call.args) > 2 else None
        assert isinstance(given, ast.Constant), f"node/files.py:{call.lineno}"
        codes.add(str(given.value))
    assert {"key_seed", "secret_open", "secret_folder"} <= codes
    for lang in ("en", *LANGS):
        assert sorted(code for code in codes - KEY_CODES_SAID_APART
                      if f"cli.key.problem.{code}" not in catalogue(lang)) == [], lang


def _key_files(folder: Path) -> dict[str, Path]:
    """A member key file spoilt in each way the key loader refuses one."""
    good = folder / "good.key"
    save_key(good, make_consortium().university)
    document = json.loads(good.read_text("utf-8"))
    made: dict[str, Path] = {}
    for name, change in {"no seed": {"seed": "zz"}, "another public key": {
            "public_key": "00" * 32}, "a broken member id": {"member_id": "zz"}}.items():
        made[name] = folder / f"{len(made)}.key"
        made[name].write_text(json.dumps({**document, **change}), "utf-8")
        made[name].chmod(0o600)
    made["open to others"] = folder / "open.key"
    made["open to others"].write_text(good.read_text("utf-8"), "utf-8")
    made["open to others"].chmod(0o644)
    shared = folder / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    made["in a folder anyone may write"] = shared / "k.key"
    made["in a folder anyone may write"].write_text(good.read_text("utf-8"), "utf-8")
    made["in a folder anyone may write"].chmod(0o600)
    return made


def test_a_key_file_refused_is_said_without_english(tmp_path: Path) -> None:
    """`senim revoke --key K --lang kk` said 'K кілт файлын пайдалану мүмкін емес: public key
    does not match the seed', and the chmod advice in English."""
    for name, key in _key_files(tmp_path).items():
        args = ["revoke", "--key", str(key), "x", "--reason", "other"]
        english = CliRunner().invoke(main, [*args, "--lang", "en"])
        assert english.exit_code == 2 and english.output.startswith("error: "), english.output
        why = english.output.strip().split(": ", 2)[-1]
        for lang in LANGS:
            said = said_in(lang, CliRunner().invoke(main, [*args, "--lang", lang]), 2)
            assert why not in said, (name, said)
            if "chmod" in english.output:  # the command that fixes it, as written
                assert english.output.strip().split("; ")[-1] in said, (name, said)

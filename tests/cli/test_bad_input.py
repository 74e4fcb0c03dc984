"""Every `senim` command with the bad inputs issue 8 lists: each must end with one
error line, no Python traceback and a non-zero exit, and change nothing.

The node URL points at a closed loopback port, so a command that gets past its own
checks meets an unreachable node: that, too, must be one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from ledger.credentials import make_batch
from ledger.identity import KeyPair
from node.files import save_key
from tests.node.conftest import documents_of
from tests.node.node_folders import lone_validator_genesis

DEAD_NODE = "http://127.0.0.1:9"  # discard port: nothing listens there in tests
IIN = "010517612342"  # not a valid check digit; the export tests use real ones


def world(root: Path) -> dict[str, str]:
    """The files the cases refer to, by name."""
    files: dict[str, Path] = {}
    keys = KeyPair.generate()
    save_key(root / "good.key", keys)
    files["key"] = root / "good.key"
    loose = root / "loose.key"
    save_key(loose, KeyPair.generate())
    loose.chmod(0o644)
    files["loose_key"] = loose
    texts = {
        "garbage": b"\x00\x9f\x92garbage\xff",
        "empty": b"",
        "surrogate.json": b'{"format": "senim-credential/v2", "fields": {"a": "\\ud800"}}',
        "not_json.json": b"{not json",
        # Valid JSON nested deeper than Python's parser recurses.
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "cp1251.json": "[{\"full_name\": \"Иванова\"}]".encode("cp1251"),
        "surrogates_export.json": b'[{"full_name": "\\udc00x", "iin": "010517612342"}]',
        "cp1251.csv": "full_name;iin\nИванова Анна;010517612342\n".encode("cp1251"),
        "garbage.xlsx": b"PK\x03\x04 not really a workbook",
        "class.txt": b"full_name\tiin\n",
        "bad_schema.toml": b"[schema\nnot toml",
        "short_key_members.toml": (
            b'chain_id = "t"\ngenesis_time = "2026-01-01T00:00:00Z"\n'
            b'[[members]]\nname = "M"\nrole = "ministry"\npublic_key = "abcd"\n'
            b"validator = true\n"),
        "node_config.toml": b"[node\nbroken",
    }
    for name, data in texts.items():
        (root / name).write_bytes(data)
        files[name] = root / name
    (root / "full_out").mkdir()
    (root / "full_out" / "other.txt").write_text("an earlier batch")
    files["full_out"] = root / "full_out"
    (root / "a_file").write_text("not a directory")
    files["a_file"] = root / "a_file"
    (root / "not_a_job").mkdir()
    files["not_a_job"] = root / "not_a_job"
    (root / "broken_job").mkdir()
    (root / "broken_job" / "manifest.json").write_text("{broken")
    files["broken_job"] = root / "broken_job"
    (root / "genesis.json").write_text(json.dumps(lone_validator_genesis(keys).to_json()))
    (root / "members.toml").write_text(
        f'chain_id = "t"\ngenesis_time = "2026-01-01T00:00:00Z"\n[[members]]\nname = "M"\n'
        f'role = "ministry"\npublic_key = "{keys.public_key.hex()}"\nvalidator = true\n')
    files["members.toml"] = root / "members.toml"
    batch = make_batch([{"full_name": "A B", "iin": IIN}], "diploma", "t", keys.member_id, "M")
    (root / "credential.json").write_text(json.dumps(documents_of(batch)[0]))
    files["credential.json"] = root / "credential.json"
    (root / "data_is_a_file.toml").write_text(
        f'[node]\nname = "m"\nkey = "{files["key"]}"\ngenesis = "{root / "genesis.json"}"\n'
        f'data_dir = "{files["a_file"]}"\n[api]\nlisten = "127.0.0.1:0"\n'
        '[p2p]\nlisten = "127.0.0.1:0"\npeers = []\n')
    files["data_is_a_file.toml"] = root / "data_is_a_file.toml"
    node_config = (f'[node]\nname = "m"\nkey = "{files["key"]}"\n'
                   f'genesis = "{root / "genesis.json"}"\n')
    (root / "data_under_a_file_state_sync.toml").write_text(
        f'{node_config}data_dir = "{files["a_file"]}/data"\n[api]\nlisten = "127.0.0.1:0"\n'
        '[p2p]\nlisten = "127.0.0.1:0"\npeers = []\n[sync]\nstate_sync = true\n')
    files["data_under_a_file_state_sync.toml"] = root / "data_under_a_file_state_sync.toml"
    (root / "vc_token_missing.toml").write_text(
        f'{node_config}data_dir = "{root}/vc_data"\n[api]\nlisten = "127.0.0.1:0"\n'
        '[p2p]\nlisten = "127.0.0.1:0"\npeers = []\n'
        f'[vc]\nissuer_key = "{files["key"]}"\nissue_token_file = "{root}/no_token"\n')
    files["vc_token_missing.toml"] = root / "vc_token_missing.toml"
    (root / "missing_key_state_sync.toml").write_text(
        f'[node]\nname = "m"\nkey = "{root}/no.key"\ngenesis = "{root / "genesis.json"}"\n'
        f'data_dir = "{root}/sync_data"\n[api]\nlisten = "127.0.0.1:0"\n'
        '[p2p]\nlisten = "127.0.0.1:0"\npeers = []\n[sync]\nstate_sync = true\n')
    files["missing_key_state_sync.toml"] = root / "missing_key_state_sync.toml"
    return {name: str(path) for name, path in files.items()}


MEMBER = "ab" * 20
NEW_MEMBER_KEY = KeyPair.from_seed(b"\x07" * 32).public_key.hex()  # "cd" * 32 is no key
Case = Callable[[dict[str, str]], list[str]]
CASES: list[tuple[str, Case]] = [
    ("keygen over an existing file", lambda f: ["keygen", f["key"]]),
    ("keygen into a file's directory", lambda f: ["keygen", f["a_file"] + "/k.key"]),
    ("keygen two folders under a file", lambda f: ["keygen", f["a_file"] + "/sub/k.key"]),
    ("consortium create, --out under a file", lambda f: [
        "consortium", "create", "--members", f["members.toml"], "--out",
        f["a_file"] + "/genesis.json", "--allow-no-fault-tolerance"]),
    ("consortium create --force, --out is a folder", lambda f: [
        "consortium", "create", "--members", f["members.toml"], "--out", f["not_a_job"],
        "--force", "--allow-no-fault-tolerance"]),
    ("consortium create, garbage members", lambda f: [
        "consortium", "create", "--members", f["garbage"], "--out", f["a_file"] + ".g"]),
    ("consortium create, short public key", lambda f: [
        "consortium", "create", "--members", f["short_key_members.toml"], "--out",
        f["key"] + ".genesis", "--allow-no-fault-tolerance"]),
    ("consortium fingerprint, garbage", lambda f: ["consortium", "fingerprint", f["garbage"]]),
    ("accredit, inverted period", lambda f: [
        "accredit", "--key", f["key"], "--issuer", MEMBER, "--from", "2026-09-01",
        "--until", "2026-01-01", "--node", DEAD_NODE]),
    ("accredit, not a date", lambda f: [
        "accredit", "--key", f["key"], "--issuer", MEMBER, "--from", "1st of May",
        "--node", DEAD_NODE]),
    ("accredit, missing key", lambda f: [
        "accredit", "--key", f["a_file"] + ".nokey", "--issuer", MEMBER, "--node", DEAD_NODE]),
    ("accredit, garbage key", lambda f: [
        "accredit", "--key", f["garbage"], "--issuer", MEMBER, "--node", DEAD_NODE]),
    ("accredit, key readable by others", lambda f: [
        "accredit", "--key", f["loose_key"], "--issuer", MEMBER, "--node", DEAD_NODE]),
    ("accredit, issuer not hex", lambda f: [
        "accredit", "--key", f["key"], "--issuer", "xyz", "--node", DEAD_NODE]),
    ("accredit, unreachable node", lambda f: [
        "accredit", "--key", f["key"], "--issuer", MEMBER, "--node", DEAD_NODE]),
    ("suspend, issuer not hex", lambda f: [
        "suspend", "--key", f["key"], "--issuer", "12", "--reason", "other",
        "--node", DEAD_NODE]),
    ("add-member, short public key", lambda f: [
        "add-member", "--key", f["key"], "--name", "X", "--role", "university",
        "--public-key", "abcd", "--node", DEAD_NODE]),
    ("add-member, public key not hex", lambda f: [
        "add-member", "--key", f["key"], "--name", "X", "--role", "university",
        "--public-key", "zz" * 32, "--node", DEAD_NODE]),
    ("anchor, unreachable node", lambda f: [
        "anchor", "--key", f["key"], f["garbage"], "--node", DEAD_NODE]),
    ("status, unreachable node", lambda f: ["status", "--node", DEAD_NODE]),
    ("members, not a URL", lambda f: ["members", "--node", "not a url"]),
    ("revoke, empty note", lambda f: [
        "revoke", "--key", f["key"], f["garbage"], "--reason", "other", "--note", "",
        "--node", DEAD_NODE]),
    ("revoke, 201-character note", lambda f: [
        "revoke", "--key", f["key"], f["garbage"], "--reason", "other", "--note", "x" * 201,
        "--node", DEAD_NODE]),
    ("revoke, garbage credential", lambda f: [
        "revoke", "--key", f["key"], f["garbage"], "--reason", "other", "--node", DEAD_NODE]),
    ("revoke, lone surrogate", lambda f: [
        "revoke", "--key", f["key"], f["surrogate.json"], "--reason", "other",
        "--node", DEAD_NODE]),
    ("supersede, garbage replacement", lambda f: [
        "supersede", "--key", f["key"], f["garbage"], "--by", f["garbage"],
        "--node", DEAD_NODE]),
    ("verify, garbage", lambda f: ["verify", f["garbage"], "--node", DEAD_NODE]),
    ("verify, empty file", lambda f: ["verify", f["empty"], "--node", DEAD_NODE]),
    ("verify, lone surrogate", lambda f: ["verify", f["surrogate.json"], "--node", DEAD_NODE]),
    ("verify, cp1251 JSON", lambda f: ["verify", f["cp1251.json"], "--node", DEAD_NODE]),
    ("verify, missing file", lambda f: ["verify", f["a_file"] + ".none", "--node", DEAD_NODE]),
    ("verify, JSON nested too deep", lambda f: ["verify", f["deep.json"], "--node", DEAD_NODE]),
    ("disclose, JSON nested too deep", lambda f: [
        "disclose", f["deep.json"], "--hide", "iin", "--out", f["a_file"] + ".d"]),
    ("prove, JSON nested too deep", lambda f: [
        "prove", f["deep.json"], "--out", f["a_file"] + ".p", "--node", DEAD_NODE]),
    ("share, JSON nested too deep", lambda f: ["share", f["deep.json"]]),
    ("export-vc, JSON nested too deep", lambda f: [
        "export-vc", f["deep.json"], "--key", f["key"], "--out", f["a_file"] + ".vc",
        "--node", DEAD_NODE]),
    ("recognise, JSON nested too deep", lambda f: [
        "recognise", "--key", f["key"], "--original", f["deep.json"], "--courses",
        f["garbage"], "--out", f["a_file"] + ".r", "--node", DEAD_NODE]),
    ("disclose, garbage", lambda f: [
        "disclose", f["garbage"], "--hide", "iin", "--out", f["a_file"] + ".d"]),
    ("disclose, lone surrogate", lambda f: [
        "disclose", f["surrogate.json"], "--hide", "iin", "--out", f["a_file"] + ".d"]),
    ("disclose, --out under a file", lambda f: [
        "disclose", f["credential.json"], "--hide", "iin", "--out", f["a_file"] + "/d.json"]),
    ("disclose, --out is a folder", lambda f: [
        "disclose", f["credential.json"], "--hide", "iin", "--out", f["not_a_job"]]),
    ("prove, garbage", lambda f: [
        "prove", f["garbage"], "--out", f["a_file"] + ".p", "--node", DEAD_NODE]),
    ("share, garbage", lambda f: ["share", f["garbage"]]),
    ("tls-cert, --key under a file", lambda f: [
        "tls-cert", "--cert", f["a_file"] + ".crt", "--key", f["a_file"] + "/node.key"]),
    ("tls-cert, --cert under a file", lambda f: [
        "tls-cert", "--cert", f["a_file"] + "/node.crt", "--key", f["a_file"] + ".key"]),
    ("export-vc, garbage", lambda f: ["export-vc", f["garbage"], "--node", DEAD_NODE]),
    ("recognise, garbage original", lambda f: [
        "recognise", "--key", f["key"], "--original", f["garbage"], "--courses",
        f["garbage"], "--out", f["a_file"] + ".r", "--node", DEAD_NODE]),
    ("employment start, bad date", lambda f: [
        "employment", "start", "--key", f["key"], "--full-name", "A B", "--position", "P",
        "--organisation", "O", "--start", "tomorrow", "--out", f["a_file"] + ".e",
        "--node", DEAD_NODE]),
    ("employment end, garbage document", lambda f: [
        "employment", "end", "--key", f["key"], f["garbage"], "--node", DEAD_NODE]),
    ("fsck, data dir is a file", lambda f: ["fsck", "--data-dir", f["a_file"]]),
    ("issue, --out exists and is not empty", lambda f: [
        "issue", "--key", f["key"], "--type", "diploma", "--input", f["cp1251.csv"],
        "--out", f["full_out"], "--node", DEAD_NODE]),
    ("issue, --out is a file", lambda f: [
        "issue", "--key", f["key"], "--type", "diploma", "--input", f["cp1251.csv"],
        "--out", f["a_file"], "--node", DEAD_NODE]),
    ("issue, missing input", lambda f: [
        "issue", "--key", f["key"], "--type", "diploma", "--input", f["a_file"] + ".none",
        "--out", f["a_file"] + ".job", "--node", DEAD_NODE]),
    ("issue, unreachable node", lambda f: [
        "issue", "--key", f["key"], "--type", "diploma", "--input", f["cp1251.csv"],
        "--out", f["a_file"] + ".job", "--node", DEAD_NODE]),
    ("issue, garbage key", lambda f: [
        "issue", "--key", f["garbage"], "--type", "diploma", "--input", f["cp1251.csv"],
        "--out", f["a_file"] + ".job", "--node", DEAD_NODE]),
    ("issue --dry-run, garbage xlsx", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["garbage.xlsx"]]),
    ("issue --dry-run, wrong encoding", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["cp1251.csv"],
        "--encoding", "utf-8"]),
    ("issue --dry-run, unknown encoding", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["cp1251.csv"],
        "--encoding", "klingon"]),
    ("issue --dry-run, lone surrogates", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["surrogates_export.json"]]),
    ("issue --dry-run, JSON that is not JSON", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["not_json.json"]]),
    ("issue --dry-run, binary with no suffix", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["garbage"]]),
    ("issue --dry-run, header only", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["class.txt"]]),
    ("issue --dry-run, garbage schema", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["cp1251.csv"], "--schema",
        f["bad_schema.toml"]]),
    ("issue --dry-run, missing mapping", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["cp1251.csv"], "--mapping",
        f["a_file"] + ".toml"]),
    ("issue --dry-run, registry readable by others", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["cp1251.csv"], "--registry",
        f["loose_key"]]),
    ("issue --dry-run, registry is not a database", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["cp1251.csv"], "--registry",
        f["key"]]),
    ("issue --dry-run, registry is a directory", lambda f: [
        "issue", "--dry-run", "--type", "diploma", "--input", f["cp1251.csv"], "--registry",
        f["not_a_job"]]),
    ("issue --resume, not a job", lambda f: [
        "issue", "--resume", f["not_a_job"], "--node", DEAD_NODE]),
    ("issue --resume, broken manifest", lambda f: [
        "issue", "--resume", f["broken_job"], "--node", DEAD_NODE]),
    ("issue --resume, a file", lambda f: ["issue", "--resume", f["a_file"],
                                          "--node", DEAD_NODE]),
]


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mode)
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _ in CASES])
def test_bad_input_gets_one_error_line_and_a_non_zero_exit(tmp_path: Path, name: str,
                                                           case: Case) -> None:
    files = world(tmp_path)
    before = _snapshot(tmp_path)
    result = CliRunner().invoke(main, case(files))
    trace = ("".join(traceback.format_exception(result.exception))
             if result.exception and not isinstance(result.exception, SystemExit) else "")
    assert not trace, f"{name}: {trace}"
    assert "Traceback" not in result.output
    assert result.exit_code not in (0, None), result.output
    errors = [line for line in result.output.splitlines()
              if line.startswith(("error:", "Error:"))]
    assert len(errors) == 1, result.output
    assert _snapshot(tmp_path) == before, f"{name} changed files: {result.output}"


NODE_CASES: list[tuple[str, Case]] = [
    ("missing config", lambda f: [f["a_file"] + ".missing"]),
    ("garbage config", lambda f: [f["node_config.toml"]]),
    ("data_dir is a file", lambda f: [f["data_is_a_file.toml"]]),
    ("data_dir under a file, state sync", lambda f: [f["data_under_a_file_state_sync.toml"]]),
    # refused before the data dir and its store are made, not after
    ("issue token file missing", lambda f: [f["vc_token_missing.toml"]]),
    ("key missing, state sync", lambda f: [f["missing_key_state_sync.toml"]]),
]


@pytest.mark.parametrize(("name", "case"), NODE_CASES, ids=[name for name, _ in NODE_CASES])
def test_a_node_with_a_bad_config_logs_one_line_and_exits_2(tmp_path: Path, name: str,
                                                              case: Case) -> None:
    """The daemon logs rather than prints, so it runs as its own process here."""
    files = world(tmp_path)
    before = _snapshot(tmp_path)
    run = subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "node",
                          "--config", *case(files)], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "ERROR" in run.stderr, run.stderr
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("command", [["status"], ["members"], ["governance", "list"],
                                     ["evidence", "list"]])
def test_a_node_that_cannot_be_asked_exits_3_as_every_command_does(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--node", DEAD_NODE])
    assert result.exit_code == 3, result.output  # EXIT_UNREACHABLE, not 1 (the node said no)
    assert "cannot reach the node" in result.output
    # a port nothing listens on: said so, not as urllib's '[Errno 111] Connection refused'
    assert "is the node running" in result.output and "Errno" not in result.output, \
        result.output


@pytest.mark.parametrize("command", [
    ["anchor", "{key}", "{key}"],
    ["accredit", "{key}", "--issuer", "ab" * 20],
    ["add-member", "{key}", "--name", "N", "--role", "employer", "--public-key", NEW_MEMBER_KEY]])
def test_a_transaction_for_a_node_that_cannot_be_asked_is_not_called_refused(
        tmp_path: Path, command: list[str]) -> None:
    """Nothing was sent: the node never said no, so neither 'refused' nor exit 1."""
    key = world(tmp_path)["key"]
    args = [part.replace("{key}", key) for part in command]
    args[1:2] = ["--key", key]
    result = CliRunner().invoke(main, [*args, "--node", DEAD_NODE])
    assert result.exit_code == 3, result.output
    assert " not sent: cannot reach the node at " in result.output, result.output
    assert " refused: " not in result.output


def test_a_vc_given_to_verify_offline_is_told_how_it_is_checked(tmp_path: Path) -> None:
    world(tmp_path)  # writes genesis.json
    vc = tmp_path / "vc.json"
    vc.write_text(json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"],
                              "type": ["VerifiableCredential"], "proof": {}}))
    result = CliRunner().invoke(main, ["verify", str(vc), "--offline", "--genesis",
                                       str(tmp_path / "genesis.json")])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        "error: --offline checks a Senim credential file carrying its proof (senim prove); a "
        "W3C VC is checked against the chain: senim verify VC.json --genesis GENESIS")


@pytest.mark.parametrize("timeout", ["nan", "-1"])
def test_a_timeout_that_is_no_number_of_seconds_is_refused(tmp_path: Path,
                                                          timeout: str) -> None:
    # nan was taken and never reached: a batch that did not commit was waited for without
    # end rather than left pending (exit 75)
    result = CliRunner().invoke(main, ["issue", "--resume", str(tmp_path), "--timeout",
                                       timeout])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--timeout': {float(timeout)} is not a number of seconds" \
        in result.output


@pytest.mark.parametrize(("url", "said"), [
    ("http://::1:8101", "an IPv6 address goes in brackets, e.g. http://[::1]:8101"),
    ("http://::1", "an IPv6 address goes in brackets, e.g. http://[::1]:8101"),
    ("http://[::1]:99999", "Port out of range 0-65535")])
def test_a_node_url_urllib_would_misread_is_refused_as_a_bad_url(url: str, said: str) -> None:
    # http.client took 'http://::1' for host ':' and port 1, and tried a port past 65535
    result = CliRunner().invoke(main, ["status", "--node", url])
    assert result.exit_code == 2, result.output
    assert result.output == f"error: {url!r} is not a node URL (e.g. http://127.0.0.1:8101): " \
                            f"{said}\n"

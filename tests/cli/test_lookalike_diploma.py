"""A diploma with its format edited and any one of its keys deleted is still a credential
(cli.verify_files.is_credential: it keeps two structures only a credential has), and fails
its own checks, MALFORMED, exit 1, asked of one node or two. Without one of the five keys
a credential must hold, it was an anchored document: another member (an employer) that
anchored its bytes had it said VALID, "recorded by" the employer, of a file reading as a
university's diploma with its GPA raised. Honest JSON exports stay anchored documents."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from cli import verify_files
from cli.verify_files import CREDENTIAL_KEYS, is_credential
from ledger.anchor_verification import document_hash
from ledger.payloads import AnchorPayload
from storage.kv import MemoryStore
from tests.cli.test_verify_document_first import altered, diploma, senim, written
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import commit, make_consortium, make_tx
from tests.node.engine_node import running_engine


def lookalike(deleted: str) -> dict[str, Any]:
    """The diploma with its GPA raised, its format edited and `deleted` taken out."""
    document = altered(diploma())
    document["format"] = "x"
    del document[deleted]
    return document


@pytest.mark.parametrize("deleted", sorted(CREDENTIAL_KEYS))
async def test_a_lookalike_diploma_anchored_by_an_employer_is_malformed(
        tmp_path: Path, deleted: str) -> None:
    net = make_consortium()
    core = api_core(net.ministry, net.genesis, MemoryStore())
    path = written(tmp_path, "diploma.json", lookalike(deleted))
    commit(core.chain, [make_tx(net.employer, AnchorPayload(document_hash(path.read_bytes())))])
    loop = asyncio.get_running_loop()
    async with (running_engine(core), serving_url(core, "first") as first,
                serving_url(core, "second") as second):
        for nodes in ([first], [first, second]):
            verify = ["verify", str(path), *(arg for node in nodes for arg in ("--node", node))]
            as_json = [*verify, "--json"]
            checked: Result = await loop.run_in_executor(None, senim, *as_json)
            assert checked.exit_code == 1, checked.output
            assert json.loads(checked.output)["status"] == "malformed", checked.output
            said = await loop.run_in_executor(None, senim, *verify)
            assert said.exit_code == 1 and "MALFORMED" in said.output, said.output
            assert "Kaspi" not in said.output, said.output


@pytest.mark.parametrize("deleted", ["target_hash", "batch", "fields", "labels"])
def test_a_diploma_with_its_format_edited_and_any_key_deleted_is_a_credential(
        deleted: str) -> None:
    assert is_credential(lookalike(deleted))


@pytest.mark.parametrize("format_", ["ſenim diploma", "ｓｅｎｉｍ", "se-nim", "\u200bsenim",
                                     " S e n i m"])
def test_a_format_naming_senim_under_nfkc_keeps_a_lookalike_a_credential(
        format_: str) -> None:
    """Its batch and target hash deleted, a diploma keeps its fields and its format: a format
    read as "senim" once NFKC'd, lower-cased and left with its ASCII letters (a long s,
    fullwidth letters, a dash or an invisible character) is a credential's structure."""
    document = altered(diploma())
    document["format"] = format_
    del document["batch"], document["target_hash"]
    assert is_credential(document)
    document["format"] = "Ѕenim"  # Cyrillic dze: no ASCII letter, dropped, "enim" is left
    assert not is_credential(document)


@pytest.mark.parametrize("export", [
    {"format": "registry-export/2", "rows": [["A", "3.41"]]},
    {"format": "registry-export/2", "issuer": "KazNU", "fields": {"gpa": "3.41"}},
    {"issuer": {"name": "KazNU"}, "fields": {"gpa": {"value": "3.41"}}, "type": "order"},
    {"format": "senim-issue-job/v1", "issuer": "ab" * 20, "type": "diploma",
     "chain_id": "senim-test"},  # an issue job's manifest
    {"target_hash": "ab" * 32, "rows": []},
    {"batch": {"root": "ab" * 32, "path": []}, "fields": ["a", "b"]},
    # a key of a credential's name, its value no credential's shape: counted as none
    {"format": "senim-bench/1", "target_hash": "x"},
    {"target_hash": "ab" * 32, "fields": {"f1": {"hash": "cd"}}},
    {"target_hash": "ab" * 32, "batch": {"root": "not hex", "path": []}},
    {"target_hash": "ab" * 32, "batch": {"root": "ab" * 32, "path": "ab"}},
    {"target_hash": "ab" * 32, "fields": {"f1": {"salt": 17}}},
])
def test_an_export_sharing_at_most_one_structure_of_a_credential_is_none(
        export: dict[str, Any]) -> None:
    assert not is_credential(export)


def test_a_duplicated_issuer_read_otherwise_first_and_last_is_refused(tmp_path: Path) -> None:
    """An issuer given twice: the one compared with the recorder (json keeps the last)
    need not be the one a reader sees, so the file is refused, exit 2, as a credential
    with a key given twice is."""
    path = tmp_path / "order.json"
    path.write_text('{"issuer": "KazNU", "rows": [], "issuer": "Kaspi"}')
    refused = senim("verify", str(path), "--node", "http://127.0.0.1:9")
    assert refused.exit_code == 2, refused.output
    assert 'gives the key "issuer" twice' in refused.output, refused.output


def test_a_diploma_whose_format_is_a_credentials_by_its_first_key_is_refused(
        tmp_path: Path) -> None:
    """Its format given first as a credential's, then as "x", and its batch and target
    hash deleted: json's reading (the last key) is no credential, the first is, and a
    reader may see either. Refused, exit 2, before any node is asked."""
    document = altered(diploma())
    del document["batch"], document["target_hash"]
    body = json.dumps(document).replace('"format": "senim-credential/v2"',
                                        '"format": "senim-credential/v2", "format": "x"')
    assert body.count('"format"') == 2
    path = tmp_path / "diploma.json"
    path.write_text(body)
    refused = senim("verify", str(path), "--node", "http://127.0.0.1:9")
    assert refused.exit_code == 2, refused.output
    assert 'gives the key "format" twice' in refused.output, refused.output


def test_an_issuer_read_alike_by_both_keys_is_no_refusal(tmp_path: Path) -> None:
    """Another key given twice, an issuer (NaN, which equals nothing) given once: an
    anchored document, looked up (no node answers here: exit 3), not refused."""
    path = tmp_path / "order.json"
    path.write_text('{"issuer": NaN, "x": 1, "x": 1}')
    asked = senim("verify", str(path), "--node", "http://127.0.0.1:9")
    assert asked.exit_code == 3, asked.output


def test_a_refusal_for_an_issuer_read_otherwise_names_the_issuer(tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text('{"x": 1, "x": 2, "issuer": "KazNU", "issuer": "Kaspi"}')
    refused = senim("verify", str(path), "--node", "http://127.0.0.1:9")
    assert refused.exit_code == 2, refused.output
    assert 'gives the key "issuer" twice' in refused.output, refused.output


def test_a_file_with_a_key_given_twice_and_none_of_those_read_by_the_first_is_read_once_more(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large export with a duplicated key and no "issuer", "format", "@context" or
    credential structure is read by its last key without a first-key reading, each of
    which takes seconds and gigabytes near DOCUMENT_FILE_BYTES_MAX."""
    first_key_readings: list[int] = []

    def counted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        first_key_readings.append(len(pairs))
        return dict(reversed(pairs))

    monkeypatch.setattr(verify_files, "_first_key_wins", counted)
    path = tmp_path / "rows.json"
    path.write_text('{"title": "Order 17", "rows": [{"a": 1, "a": 2}]}')
    assert verify_files.load_json_file(path) == {"title": "Order 17", "rows": [{"a": 2}]}
    assert first_key_readings == []
    path.write_text('{"issuer": "Kaspi", "rows": [{"a": 1, "a": 2}]}')
    assert verify_files.load_json_file(path) == {"issuer": "Kaspi", "rows": [{"a": 2}]}
    assert first_key_readings != []


@pytest.mark.parametrize(("body", "encoding"), [
    ('{"\\u0069ssuer": "KazNU", "rows": [], "issuer": "Kaspi"}', "utf-8"),
    ('{"issuer": "KazNU", "rows": [], "issuer": "Kaspi"}', "utf-16"),
    ('{"issuer": "KazNU", "rows": [], "issuer": "Kaspi"}', "utf-32-le"),
])
def test_a_duplicated_issuer_spelt_otherwise_is_refused_too(
        tmp_path: Path, body: str, encoding: str) -> None:
    """A key written with an escape, or a file in UTF-16 or UTF-32 (which json reads),
    does not hold the key's UTF-8 bytes: such a file is read by its first key all the same."""
    path = tmp_path / "order.json"
    path.write_bytes(body.encode(encoding))
    refused = senim("verify", str(path), "--node", "http://127.0.0.1:9")
    assert refused.exit_code == 2, refused.output
    assert 'gives the key "issuer" twice' in refused.output, refused.output

"""Supersede: a corrected credential replaces an earlier one, which then verifies as
"superseded by …" rather than as plainly revoked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cli.revoking
from cli.check_words import check_words
from cli.language import Words
from cli.main import main
from ledger.chain import Chain
from ledger.credentials import IssuedBatch, make_batch
from ledger.facts import LocalFacts
from ledger.payloads import CredentialRef, IssueBatchPayload, RevokePayload
from ledger.verification import verify_credential
from node.files import save_key
from storage.batch_tree import audit_path
from tests.node.conftest import CHAIN_ID, Consortium, accredit, commit, documents_of, make_tx
from tests.node.test_ledger_refusals import assert_refused
from tests.node.test_reason_codes import _FakeNode

GRADUATES = [{"name": "Aigerim", "gpa": "3.2"}, {"name": "Nurlan", "gpa": "3.5"}]


def _issue(chain: Chain, net: Consortium, records: list[dict[str, str]],
           ctype: str = "diploma") -> IssuedBatch:
    batch = make_batch(records, ctype, CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload(ctype, batch.root,
                                                             len(records)))])
    return batch


def _ref(batch: IssuedBatch, index: int) -> CredentialRef:
    return CredentialRef(batch.root, batch.target_hashes[index], index,
                         tuple(audit_path(batch.target_hashes, index)))


@pytest.fixture
def issued(chain: Chain, net: Consortium) -> tuple[Chain, IssuedBatch, IssuedBatch]:
    commit(chain, [accredit(net, net.university, ["diploma", "transcript"]),
                   accredit(net, net.university2, ["diploma"])])
    old = _issue(chain, net, GRADUATES)
    corrected = _issue(chain, net, [{"name": "Aigerim", "gpa": "3.7"}])
    return chain, old, corrected


def _supersede(old: IssuedBatch, corrected: IssuedBatch) -> RevokePayload:
    return RevokePayload(_ref(old, 0), "superseded", None, _ref(corrected, 0))


def test_superseded_credential_names_its_replacement(
        issued: tuple[Chain, IssuedBatch, IssuedBatch], net: Consortium) -> None:
    chain, old, corrected = issued
    commit(chain, [make_tx(net.university, _supersede(old, corrected))])
    facts = LocalFacts(chain.state, "test")
    verdict = verify_credential(documents_of(old)[0], facts, CHAIN_ID)
    assert (verdict.valid, verdict.status) == (False, "superseded")
    new_target = corrected.target_hashes[0].hex()
    assert f"superseded at height {chain.height}" in verdict.reason
    assert f"corrected credential {new_target[:16]}…" in verdict.reason
    assert verdict.facts["superseded_by"] == {"batch_root": corrected.root.hex(),
                                              "target_hash": new_target}
    assert verdict.facts["revocation_reason"] == "superseded"
    # its check says replaced, as the verdict does: it said "Revoked on …" under "Replaced"
    check = next(c for c in verdict.checks if c.name == "not_revoked")
    said = {lang: check_words(check, verdict, Words(lang), documents_of(old)[0])
            for lang in ("en", "ru", "kk")}
    assert "Replaced on" in said["en"] and "исправленным документом" in said["ru"]
    assert "Түзетілген құжатпен ауыстырылған" in said["kk"]
    assert "Revoked" not in said["en"] and "Отозван" not in said["ru"], said
    assert verify_credential(documents_of(corrected)[0], facts, CHAIN_ID).status == "valid"
    assert verify_credential(documents_of(old)[1], facts, CHAIN_ID).status == "valid"


def test_unknown_replacement(issued: tuple[Chain, IssuedBatch, IssuedBatch],
                             net: Consortium) -> None:
    chain, old, _ = issued
    never_issued = make_batch(GRADUATES, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    assert_refused(chain, make_tx(net.university, _supersede(old, never_issued)),
                   "unknown_replacement")
    # nor may the replacement be another issuer's credential
    rivals = make_batch(GRADUATES, "diploma", CHAIN_ID, net.university2.member_id, "ENU")
    commit(chain, [make_tx(net.university2, IssueBatchPayload("diploma", rivals.root, 2))])
    assert_refused(chain, make_tx(net.university, _supersede(old, rivals)),
                   "unknown_replacement")


def test_replacement_not_in_batch(issued: tuple[Chain, IssuedBatch, IssuedBatch],
                                  net: Consortium) -> None:
    chain, old, corrected = issued
    wrong = CredentialRef(corrected.root, old.target_hashes[1], 0, ())
    assert_refused(chain, make_tx(net.university, RevokePayload(
        _ref(old, 0), "superseded", None, wrong)), "replacement_not_in_batch")


def test_replacement_type_mismatch(issued: tuple[Chain, IssuedBatch, IssuedBatch],
                                   net: Consortium) -> None:
    chain, old, _ = issued
    transcript = _issue(chain, net, [{"name": "Aigerim", "course": "CS101"}], "transcript")
    refusal = assert_refused(chain, make_tx(net.university, _supersede(old, transcript)),
                             "replacement_type_mismatch")
    assert "a diploma can only be superseded by a diploma" in refusal.message


def test_cli_supersede(tmp_path: Path, net: Consortium,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.revoking, "NodeClient", _FakeNode)
    _FakeNode.submitted = []
    old = make_batch(GRADUATES, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    corrected = make_batch(GRADUATES[:1], "diploma", CHAIN_ID, net.university.member_id,
                           "KazNU")
    files: list[Path] = []
    for name, document in (("old.json", documents_of(old)[1]),
                           ("new.json", documents_of(corrected)[0])):
        files.append(tmp_path / name)
        files[-1].write_text(json.dumps(document))
    key = tmp_path / "kaznu.key"
    save_key(key, net.university)
    result = CliRunner().invoke(main, ["supersede", "--key", str(key), str(files[0]),
                                       "--by", str(files[1]), "--note", "GPA corrected"])
    assert result.exit_code == 0, result.output
    assert "replaced by" in result.output
    (tx,) = _FakeNode.submitted
    payload: Any = tx.payload
    assert isinstance(payload, RevokePayload) and payload.reason == "superseded"
    assert payload.credential == _ref(old, 1) and payload.replaced_by == _ref(corrected, 0)
    assert payload.note_hash is not None and b"GPA corrected" not in tx.encode()
    same = CliRunner().invoke(main, ["supersede", "--key", str(key), str(files[1]),
                                     "--by", str(files[1])])
    assert same.exit_code == 2 and "cannot replace itself" in same.output
    russian = CliRunner().invoke(main, ["supersede", "--key", str(key), str(files[0]),
                                        "--by", str(files[1]), "--note", "GPA исправлен",
                                        "--lang", "ru"])
    assert russian.exit_code == 2, russian.output  # the first run kept its note there
    assert russian.output.startswith("ошибка: ") and "примечание к этому документу там уже " \
        "хранится" in russian.output
    (tmp_path / "revocation-notes" / "old.json").unlink()
    russian = CliRunner().invoke(main, ["supersede", "--key", str(key), str(files[0]),
                                        "--by", str(files[1]), "--lang", "ru"])
    assert russian.exit_code == 0, russian.output
    assert re.fullmatch(r"документ [0-9a-f]{16}… заменён на [0-9a-f]{16}…, блок \d+\n",
                        russian.output), russian.output


def test_cli_supersede_refuses_another_students_correction(
        tmp_path: Path, net: Consortium, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a testnet, `supersede ALICE --by BOB` was sent and taken (the chain holds no
    names): Alice's diploma read 'superseded by' Bob's for good."""
    monkeypatch.setattr(cli.revoking, "NodeClient", _FakeNode)
    _FakeNode.submitted = []
    students = [{"full_name": "Aigerim Sadykova", "iin": "010101500013", "student_id": "S1"},
                {"full_name": "Nurlan Abenov", "iin": "020202600024", "student_id": "S2"}]
    old = make_batch(students, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    fixed = [{**students[0], "full_name": "Aigerim Sadykqyzy"},  # the name corrected
             {**students[0], "iin": "010101500024"},  # the IIN corrected, same student id
             students[1]]
    corrected = make_batch(fixed, "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    files = {}
    for name, document in (("alice.json", documents_of(old)[0]),
                           ("alice-name.json", documents_of(corrected)[0]),
                           ("alice-iin.json", documents_of(corrected)[1]),
                           ("bob.json", documents_of(corrected)[2])):
        files[name] = tmp_path / name
        files[name].write_text(json.dumps(document))
    key = tmp_path / "kaznu.key"
    save_key(key, net.university)

    def supersede(by: str) -> Any:
        return CliRunner().invoke(main, ["supersede", "--key", str(key),
                                         str(files["alice.json"]), "--by", str(files[by])])

    refused = supersede("bob.json")
    assert refused.exit_code == 2, refused.output
    assert "another student's credential" in refused.output
    kazakh = CliRunner().invoke(main, ["supersede", "--key", str(key), str(files["alice.json"]),
                                       "--by", str(files["bob.json"]), "--lang", "kk"])
    assert kazakh.exit_code == 2, kazakh.output
    assert kazakh.output.startswith(f"қате: {files['bob.json']} — басқа студенттің құжаты ("), \
        kazakh.output
    assert "iin 010101500013" in refused.output and "020202600024" in refused.output
    assert _FakeNode.submitted == []
    for by in ("alice-name.json", "alice-iin.json"):
        assert supersede(by).exit_code == 0, by
    assert len(_FakeNode.submitted) == 2

"""`senim verify` says whose document it is and what it certifies, as the portal's card
does: each field the holder showed under its label in the reader's language, a hidden one
said as hidden, a day in words; and nothing of an altered file's contents."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.main import main
from ledger.chain import Chain
from ledger.credential_documents import disclose
from ledger.credentials import make_batch
from ledger.offline import make_bundle, proof_keys
from ledger.payloads import IssueBatchPayload
from node.files import save_key
from storage.kv import MemoryStore
from tests.cli import test_verify_across_set_changes as set_changes
from tests.cli.test_verify_across_set_changes import senim
from tests.node.academic_fixtures import COURSES, transcript_record
from tests.node.conftest import (
    CHAIN_ID,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
)

net, node_url = set_changes.net, set_changes.node_url  # the fixtures: a node and a diploma

DIPLOMA = {"full_name": "Әлия Сәрсенбаева", "iin": "010630612347",
           "birth_date": "2001-06-30", "programme": "Есептеу техникасы",
           "graduation_date": "2026-06-30", "gpa": "3.71"}
EXPECTED = {
    "kk": ["Диплом:", "Аты-жөні: Әлия Сәрсенбаева", "ЖСН (жеке сәйкестендіру нөмірі): иесі "
           "жасырған", "Туған күні: 2001 жылғы 30 маусым", "Білім беру бағдарламасы: Есептеу "
           "техникасы", "Оқуды бітірген күні: 2026 жылғы 30 маусым",
           "Орташа балл (GPA): 3.71"],
    "ru": ["Диплом:", "ФИО: Әлия Сәрсенбаева", "ИИН: скрыто владельцем",
           "Дата рождения: 30 июня 2001 г.", "Образовательная программа: Есептеу техникасы",
           "Дата окончания: 30 июня 2026 г.", "Средний балл (GPA): 3.71"],
    "en": ["Diploma:", "Full name: Әлия Сәрсенбаева",
           "IIN (individual identification number): hidden by the holder",
           "Date of birth: 30 June 2001", "Programme: Есептеу техникасы",
           "Graduation date: 30 June 2026", "GPA: 3.71"]}


def _offline_diploma(tmp_path: Path) -> tuple[dict[str, object], Path]:
    """Әлия's diploma with her IIN hidden and a proof to check it offline; the genesis."""
    net = make_consortium()
    kv = MemoryStore()
    chain = Chain(kv, net.genesis)
    commit(chain, [accredit(net, net.university, ["diploma"])])
    batch = make_batch([DIPLOMA], "diploma", CHAIN_ID, net.university.member_id, "KazNU")
    commit(chain, [make_tx(net.university, IssueBatchPayload("diploma", batch.root, 1))])
    document = disclose(documents_of(batch)[0], ["iin"])
    keys = proof_keys(batch.root, net.university.member_id,
                      bytes.fromhex(document["target_hash"]), [net.ministry.member_id])
    header = chain.head_header
    bundle = make_bundle(chain.state, header, chain.get_certificate(header.height) or b"",
                         keys, chain.set_change_proofs(0, 10))
    kv.close()
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps(net.genesis.to_json()), "utf-8")
    return {**document, "proof": bundle}, genesis


def _verify(path: Path, genesis: Path, language: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["verify", str(path), "--offline", "--genesis",
                                       str(genesis), "--lang", language])
    return result.exit_code, [line.strip() for line in result.output.splitlines()]


def test_the_fields_shown_are_listed_in_the_readers_language(tmp_path: Path) -> None:
    document, genesis = _offline_diploma(tmp_path)
    path = tmp_path / "diploma.json"
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    for language, lines in EXPECTED.items():
        code, shown = _verify(path, genesis, language)
        assert code == 0, shown
        assert shown[-len(lines):] == lines, (language, shown)


def test_an_altered_files_contents_are_not_listed(tmp_path: Path) -> None:
    document, genesis = _offline_diploma(tmp_path)
    fields = document["fields"]
    assert isinstance(fields, dict)
    fields["full_name"]["value"] = "Әлия Сәрсенбаевна"
    path = tmp_path / "altered.json"
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    for language in ("kk", "ru", "en"):
        code, shown = _verify(path, genesis, language)
        assert code == 1, shown
        assert not any("Сәрсенбаевна" in line or "3.71" in line for line in shown), shown


async def test_a_vcs_fields_and_counts_are_said_as_a_credential_files(
        net: Consortium, node_url: str, tmp_path: Path) -> None:
    # A VC's fields are in its credentialSubject: its checks counted none ("courses shown:
    # 0") and nothing it says was listed.
    key, vc = tmp_path / "kaznu.key", tmp_path / "diploma.vc.json"
    save_key(key, net.university)
    exported = await senim("export-vc", str(tmp_path / "diploma.json"), "--key", str(key),
                           "--out", str(vc), "--node", node_url)
    assert exported.exit_code == 0, exported.output
    result = await senim("verify", str(vc), "--node", node_url, "--lang", "ru")
    assert result.exit_code == 0, result.output
    shown = [line.strip() for line in result.output.splitlines()]
    assert "✔ Содержимое: Показано полей: 2, скрыто: 0; все совпадают с записью выдавшей " \
           "организации." in [line.partition(". ")[2] for line in shown], shown
    assert shown[-3:] == ["Диплом:", "ФИО: Aigerim", "Средний балл (GPA): 3.9"], shown


def test_offline_a_transcripts_course_lines_check_is_kept(tmp_path: Path) -> None:
    # The offline verdict said its not-revoked check as of the proof's block in place of
    # the last check: a transcript's course lines, the last, were lost, and not-revoked
    # listed twice (so too an employment's standing and a recognition's original).
    consortium = make_consortium()
    chain = Chain(MemoryStore(), consortium.genesis)
    commit(chain, [accredit(consortium, consortium.university, ["transcript"])])
    record = transcript_record(courses=[COURSES[0]], gpa="3.33", total="5")
    batch = make_batch([record], "transcript", CHAIN_ID, consortium.university.member_id,
                       "KazNU")
    commit(chain, [make_tx(consortium.university,
                           IssueBatchPayload("transcript", batch.root, 1))])
    document = documents_of(batch)[0]
    keys = proof_keys(batch.root, consortium.university.member_id,
                      bytes.fromhex(document["target_hash"]), [consortium.ministry.member_id])
    document["proof"] = make_bundle(chain.state, chain.head_header,
                                    chain.get_certificate(chain.height) or b"", keys,
                                    chain.set_change_proofs(0, 10))
    path, genesis = tmp_path / "transcript.json", tmp_path / "genesis.json"
    path.write_text(json.dumps(document))
    genesis.write_text(json.dumps(consortium.genesis.to_json()))
    result = CliRunner().invoke(main, ["verify", str(path), "--offline", "--genesis",
                                       str(genesis), "--json"])
    assert result.exit_code == 0, result.output
    said = json.loads(result.output)["checks"]
    assert [c["check"] for c in said].count("not_revoked") == 1
    checks = {c["check"]: c["detail"] for c in said}
    assert checks["not_revoked"].startswith(f"no revocation on chain as of block {chain.height}")
    assert checks["lines"].startswith("1 course line(s) shown")

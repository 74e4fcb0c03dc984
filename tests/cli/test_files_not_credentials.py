"""Files an employer is given that are not a whole credential file: `senim verify` says
what they are in one plain sentence, online and offline, and reads a credential saved as
UTF-16 (Notepad's "Unicode") as the node does; a VC of the older data model names no
issuer it did not read; a VC no Senim chain records is not called valid."""

from __future__ import annotations

import json
from pathlib import Path

from cli.vc_verify import DOCUMENT_ALONE
from ledger.identity import KeyPair
from ledger.vc.warning_codes import NOT_ON_CHAIN
from tests.cli import test_verify_across_set_changes as set_changes
from tests.cli.test_verify_across_set_changes import senim, verdict_of
from tests.vc.test_export_verify import foreign_vc

net, node_url = set_changes.net, set_changes.node_url  # the fixtures: a node and a diploma
NO_ANCHOR = "no record of this document"


async def both_ways(path: Path, node_url: str, tmp_path: Path) -> list[dict[str, object]]:
    """The verdicts online and offline, each exit 1 with no traceback."""
    genesis = str(tmp_path / "genesis.json")
    verdicts = []
    for args in (["--node", node_url], ["--offline", "--genesis", genesis]):
        result = await senim("verify", str(path), "--json", *args)
        assert result.exit_code == 1, (args, result.output)
        verdicts.append(verdict_of(result))
    return verdicts


async def test_an_empty_file_is_called_empty(node_url: str, tmp_path: Path) -> None:
    empty = tmp_path / "diploma.json.part"
    empty.write_bytes(b"")
    for verdict in await both_ways(empty, node_url, tmp_path):
        assert verdict["status"] == "malformed"
        assert str(verdict["reason"]).startswith("the file is empty"), verdict


async def test_a_credential_pasted_into_a_letter_is_not_looked_up_as_an_anchor(
        node_url: str, tmp_path: Path) -> None:
    whole = (tmp_path / "diploma.json").read_text(encoding="utf-8")
    letter = tmp_path / "letter.txt"
    letter.write_text(f"Здравствуйте! Вот мой диплом:\n{whole}\n--\nӘлия", encoding="utf-8")
    in_a_list = tmp_path / "list.json"
    in_a_list.write_text(f"[{whole}]", encoding="utf-8")
    for path in (letter, in_a_list):
        for verdict in await both_ways(path, node_url, tmp_path):
            assert verdict["status"] == "malformed", (path.name, verdict)
            assert "with other text around it" in str(verdict["reason"])
            assert NO_ANCHOR not in str(verdict["checks"])


async def test_a_pdf_is_named_a_pdf_online_and_offline(node_url: str, tmp_path: Path
                                                      ) -> None:
    """What an officer is handed in place of the credential file is said to be what it is
    (as the portal says it), not "no record of this document": any file may be an anchored
    document, so online it is looked up first, and named once no anchor is found."""
    pdf = tmp_path / "diploma.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(2000))
    for verdict in await both_ways(pdf, node_url, tmp_path):
        assert verdict["status"] == "malformed"
        assert str(verdict["reason"]).startswith("this file is a PDF, not a Senim credential")
    photo = tmp_path / "diploma.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(2000))
    russian = await senim("verify", str(photo), "--node", node_url, "--lang", "ru")
    assert russian.exit_code == 1
    assert russian.output.startswith("Это изображение, а не файл документа Senim"), \
        russian.output
    # a credential with no proof in it: what to do about it
    bare = await senim("verify", str(tmp_path / "diploma.json"), "--offline", "--genesis",
                       str(tmp_path / "genesis.json"), "--json")
    assert bare.exit_code == 1 and "senim prove" in str(verdict_of(bare)["reason"])


async def test_a_credential_saved_as_utf16_verifies_online_and_offline(node_url: str,
                                                                       tmp_path: Path) -> None:
    text = (tmp_path / "diploma.json").read_text(encoding="utf-8")
    utf16 = tmp_path / "diploma-unicode.json"
    utf16.write_bytes(text.encode("utf-16"))
    online = await senim("verify", str(utf16), "--node", node_url, "--json")
    assert online.exit_code == 0 and verdict_of(online)["status"] == "valid", online.output
    proved = tmp_path / "proved.json"
    made = await senim("prove", str(utf16), "--out", str(proved), "--node", node_url)
    assert made.exit_code == 0, made.output
    proved.write_bytes(proved.read_text(encoding="utf-8").encode("utf-16"))
    offline = await senim("verify", str(proved), "--offline", "--genesis",
                          str(tmp_path / "genesis.json"), "--json")
    assert offline.exit_code == 0, offline.output


async def test_a_vc_of_the_older_data_model_is_refused_in_words(node_url: str,
                                                                 tmp_path: Path) -> None:
    old = tmp_path / "old.vc.json"
    old.write_text(json.dumps({"@context": ["https://www.w3.org/2018/credentials/v1"],
                               "type": ["VerifiableCredential"], "issuer": "did:example:1",
                               "credentialSubject": {"degree": "BSc"}}))
    result = await senim("verify", str(old), "--node", node_url)
    assert result.exit_code == 1, result.output
    first, file_line = result.output.splitlines()[:2]
    assert first.startswith("MALFORMED: not a VC 2.0"), first
    assert file_line.strip() == f"file:   {old} (W3C VC)", file_line


async def test_a_vc_no_chain_records_is_not_called_valid(node_url: str, tmp_path: Path) -> None:
    # Anyone can sign a "diploma" VC with a key of their own and name any university in it:
    # a good signature alone confirms nothing to an employer, whose scripts read exit 0.
    forged = tmp_path / "forged.vc.json"
    forged.write_text(json.dumps(foreign_vc(KeyPair.from_seed(b"\x42" * 32))))
    result = await senim("verify", str(forged), "--node", node_url)
    assert result.exit_code == 1, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("UNCONFIRMED: valid signature by did:key:"), first
    assert "not recorded on the Senim network" in first, first
    as_json = await senim("verify", str(forged), "--node", node_url, "--json")
    assert as_json.exit_code == 1
    verdict = verdict_of(as_json)
    assert (verdict["valid"], verdict["status"]) == (False, "unconfirmed"), verdict
    # the verification's warning not_on_chain (what the VC-API says beside "verified") is
    # what the verdict says now: not said again as a note under it
    assert verdict["warning_codes"] == [], verdict
    assert NOT_ON_CHAIN not in result.output, result.output
    # in Russian it opened "the signature … is valid", its check line a filler
    russian = await senim("verify", str(forged), "--node", node_url, "--lang", "ru")
    assert russian.exit_code == 1, russian.output
    assert russian.output.startswith("Не подтверждён: этот документ W3C"), russian.output
    assert "Не записан ни в одной цепочке Senim" in russian.output, russian.output


async def test_a_verdict_reached_before_any_lookup_names_no_height(node_url: str,
                                                                   tmp_path: Path) -> None:
    # An altered credential fails on its own hash, and no node is asked: its source said
    # "at height None (taken on the node's word)", then that no state of the node's was used.
    document = json.loads((tmp_path / "diploma.json").read_text(encoding="utf-8"))
    document["fields"]["full_name"]["value"] += "x"
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = await senim("verify", str(altered), "--node", node_url, "--json")
    assert result.exit_code == 1, result.output
    verdict = verdict_of(result)
    assert verdict["status"] == "tampered", verdict
    assert verdict["source"] == DOCUMENT_ALONE and verdict["nodes_not_asked"] == [node_url], \
        verdict


async def test_a_vc_not_valid_yet_is_not_called_expired(node_url: str, tmp_path: Path) -> None:
    early = tmp_path / "early.vc.json"
    early.write_text(json.dumps(foreign_vc(KeyPair.from_seed(b"\x43" * 32),
                                           validFrom="2126-06-01T00:00:00Z")))
    result = await senim("verify", str(early), "--node", node_url)
    assert result.exit_code == 1, result.output
    first = result.output.splitlines()[0]
    assert first == "NOT_YET_VALID: not valid before 2126-06-01T00:00:00Z", first

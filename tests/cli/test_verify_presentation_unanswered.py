"""A presentation holding a credential that fails its own checks, with no node answering:
that failure is the verdict (tests/cli/test_verify_document_first.py), and the others are
said as no node answering leaves them. A Senim credential is CHAIN_UNCHECKED, with none of
the warnings of a check made with no node to ask (the nodes were asked); one no chain
records is UNCONFIRMED, as with a node answering; and the presentation's reason counts
them in --json as its sentence does, in kk, ru and en."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.language import Words
from ledger.identity import KeyPair
from ledger.vc.canon import CREDENTIALS_V2
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from tests.cli.test_verify_document_first import (
    HOLDER,
    LANGUAGES,
    diploma,
    down,
    genesis_file,
    presentation,
    senim,
    vc_of,
    written,
)

# A warning's longest words around the URL it names, if any: enough to tell it by.
CHAIN_WARNINGS = ("cli.vc.chain_not_checked", "cli.vc.list_unchecked")


def shown_with_a_changed_one(tmp_path: Path) -> Path:
    """A presentation of a changed Senim VC, a genuine one and one no chain records."""
    genuine = vc_of(diploma())
    changed = json.loads(json.dumps(genuine).replace('"3.41"', '"3.91"'))
    foreign = add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
                         "issuer": did_key(HOLDER.public_key),
                         "credentialSubject": {"id": "did:example:student"}},
                        HOLDER, "2026-07-01T09:00:00Z")
    return written(tmp_path, "diploma.vp.json", presentation([changed, genuine, foreign]))


def warning_words(words: Words, key: str) -> str:
    return max(words.t(key, url="\x00").split("\x00"), key=len)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_credential_is_said_as_no_node_answering_leaves_it(tmp_path: Path,
                                                               language: str) -> None:
    words = Words(language)
    checked = senim("verify", str(shown_with_a_changed_one(tmp_path)), "--node", down(),
                    "--lang", language)
    assert checked.exit_code == 1, checked.output
    said = checked.output
    assert said.startswith(words.t("vp.credential_fails", signer=did_key(HOLDER.public_key),
                                   failed=3, count=3)), said
    unchecked, foreign = said.split(words.t("cli.vp.credential", n=2, count=3))[1].split(
        words.t("cli.vp.credential", n=3, count=3))
    assert unchecked.lstrip().startswith("CHAIN_UNCHECKED: " if language == "en" else
                                         words.t("cli.status.chain_unchecked")), said
    for key in CHAIN_WARNINGS:  # the nodes were asked: "no node to ask" is untrue
        assert warning_words(words, key) not in said, said
    # no chain records it: that is what it is, whether or not a node answered
    assert words.t("cli.status.chain_unchecked") not in foreign, said
    assert language != "en" or foreign.lstrip().startswith("UNCONFIRMED: "), said


def test_the_json_counts_the_credentials_as_the_sentence_does(tmp_path: Path) -> None:
    checked = senim("verify", str(shown_with_a_changed_one(tmp_path)), "--node", down(),
                    "--json")
    assert checked.exit_code == 1, checked.output
    verdict: dict[str, Any] = json.loads(checked.output)
    assert [inner["status"] for inner in verdict["credentials"]] == [
        "tampered", "chain_unchecked", "unconfirmed"], verdict
    held = [check for check in verdict["checks"] if check["check"] == "credentials"]
    assert len(held) == 1 and not held[0]["ok"], verdict["checks"]
    # the one failing its own checks named first, its status the presentation's
    assert held[0]["detail"].startswith("3 of 3 credential(s) fail; the first: the "
                                        "signature does not match"), held
    assert (verdict["status"], verdict["reason"]) == ("tampered", held[0]["detail"]), verdict
    assert verdict["credentials"][1]["warning_codes"] == [], verdict["credentials"][1]


def test_the_json_counts_a_vc_no_chain_records_as_the_text_does_with_genesis(
        tmp_path: Path) -> None:
    """A presentation holding a changed Senim VC and a VC no chain records, --genesis
    given with its node down: no chain is read (the changed VC fails before, the other asks
    none), so the node's "answer" is the verdict, and --json counts both failing as the
    text does (cli.vp.failing), not only the one verify_presentation failed before the
    other was settled unconfirmed."""
    anyone = KeyPair.from_seed(b"\x55" * 32)
    unrecorded = add_proof({"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"],
                            "issuer": did_key(anyone.public_key),
                            "credentialSubject": {"id": "did:example:123"}},
                           anyone, "2026-07-01T09:00:00Z")
    changed = json.loads(json.dumps(vc_of(diploma())).replace('"3.41"', '"3.91"'))
    path = written(tmp_path, "diploma.vp.json", presentation([changed, unrecorded]))
    given = ["--node", down(), "--genesis", str(genesis_file(tmp_path))]
    text = senim("verify", str(path), *given, "--lang", "en")
    assert "2 of its 2 credential(s) did not pass" in text.output, text.output
    as_json = json.loads(senim("verify", str(path), *given, "--json").output)
    assert as_json["reason"].startswith("2 of 2 credential(s) fail"), as_json["reason"]

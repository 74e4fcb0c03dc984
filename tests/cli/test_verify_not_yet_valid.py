"""A W3C VC valid only from a later date is NOT_YET_VALID, not EXPIRED, in every language
and --json, when its own checks fail it before any node is asked (a file, or held in a
presentation no node answers), as it is with a node answering (cli.vc_verify.by_its_end:
the VC-API's "expired" stands for either end, and was renamed only on a node's answer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.language import Words
from ledger.vc.proofs import add_proof
from tests.cli.test_verify_document_first import (
    LANGUAGES,
    UNIVERSITY,
    diploma,
    down,
    presentation,
    senim,
    vc_of,
    written,
)

NOT_YET = "2099-01-01T00:00:00Z"


def not_valid_yet() -> dict[str, Any]:
    """A Senim VC its own issuer signed as valid only from 2099."""
    unsigned = {key: value for key, value in vc_of(diploma()).items() if key != "proof"}
    unsigned["validFrom"] = NOT_YET
    signed: dict[str, Any] = add_proof(unsigned, UNIVERSITY, "2026-07-01T09:00:00Z")
    return signed


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_vc_not_valid_yet_is_not_said_expired(tmp_path: Path, language: str) -> None:
    path = written(tmp_path, "future.vc.json", not_valid_yet())
    checked = senim("verify", str(path), "--node", down(), "--lang", language)
    assert checked.exit_code == 1, checked.output
    words = Words(language)
    expired = "EXPIRED" if language == "en" else words.t("status.expired").split(":")[0]
    assert not checked.output.startswith(expired), checked.output
    said = ("NOT_YET_VALID: " if language == "en" else
            words.t("status.not_yet_valid", date="\x00").split("\x00")[0])
    assert checked.output.startswith(said), checked.output
    as_json = json.loads(senim("verify", str(path), "--node", down(), "--json").output)
    assert as_json["status"] == "not_yet_valid", as_json


def test_a_held_vc_not_valid_yet_is_not_said_expired_when_no_node_answers(
        tmp_path: Path) -> None:
    path = written(tmp_path, "future.vp.json",
                   presentation([not_valid_yet(), vc_of(diploma())]))
    checked = senim("verify", str(path), "--node", down(), "--json")
    assert checked.exit_code == 1, checked.output
    statuses = [inner["status"] for inner in json.loads(checked.output)["credentials"]]
    assert statuses == ["not_yet_valid", "chain_unchecked"], statuses

"""FAILING DEMONSTRATIONS (session 65, second review of the HR officer's `senim verify`):
each test here fails on main as of d668fdf9 and shows a finding of that review; none is a
fix. What needs no node runs with its nodes down, as the document's own checks now run
before any node is asked.

- A W3C VC not valid yet (validFrom in the future) fails its own checks, and the verdict
  printed before any node is asked says it EXPIRED ("Мерзімі өткен", "Срок действия
  истёк"; --json "expired"): the renaming to not_yet_valid (cli.vc_verify.settled) runs
  only on a node's answer. With a node answering it said NOT_YET_VALID (before 7c008742).
- The same for such a VC held in a presentation when no node answers (cli.vp._unanswered).
- A JSON file anchored on chain whose top level has a "format" key is MALFORMED with
  "nothing a node or a proof could say would change that": the chain records it.
- A password in $SENIM_NODE is printed for a document failing its own checks (--json's
  nodes_not_asked; a presentation's "gave no answer" line), where it was refused hidden.
- --json's reason counts a held VC no chain records as passing where the text counts it
  failing, when a node (or --genesis alone) gave the presentation's verdict.
- A link's document failing its own checks is said "checked against {node} instead" of the
  link's node, beside "neither was consulted": that node was never asked (it is down).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cli.language import Words
from ledger.vc.proofs import add_proof
from tests.cli.test_verify_document_first import (
    LANGUAGES,
    UNIVERSITY,
    altered,
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
    if language != "en":
        assert checked.output.startswith(words.t("status.not_yet_valid", date="\x00")
                                         .split("\x00")[0]), checked.output
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


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_changed_link_document_is_not_said_checked_against_a_node_never_asked(
        tmp_path: Path, language: str) -> None:
    path = written(tmp_path, "diploma.json", altered(diploma()))
    shared = senim("share", str(path), "--node", "https://portal.example.kz")
    link = re.search(r"https://portal\.example\.kz/\S+", shared.output)
    assert link is not None, shared.output
    node = down()
    checked = senim("verify", link.group(0), "--node", node, "--lang", language)
    assert checked.exit_code == 1, checked.output
    words = Words(language)
    assert words.t("cli.source.document_alone") in checked.output, checked.output
    checked_here = words.t("cli.link.checked_here", origin="https://portal.example.kz",
                           node=node)
    assert checked_here not in checked.output, checked.output

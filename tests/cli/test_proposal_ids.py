"""`senim governance vote` takes the start of a proposal id: one listed proposal's is that
proposal; a start shared by several, one no listed proposal has, too short or not hex is
refused in words (exit 2, or 1 for none), and no vote is sent."""

from __future__ import annotations

from typing import Any

import pytest

from cli.proposal_ids import resolve_proposal_id

A = "abcd" + "1" * 60
B = "abcd" + "2" * 60
C = "9f00" + "3" * 60


class _Node:
    base_url = "http://127.0.0.1:1"

    def request(self, method: str, path: str) -> dict[str, Any]:
        assert (method, path) == ("GET", "/v1/governance")
        return {"proposals": [
            {"proposal_id": pid, "status": status, "action": "set_rules_version",
             "rules_version": version, "effective_height": 50}
            for pid, status, version in ((A, "open", 4), (B, "expired", 5), (C, "open", 6))]}


def _resolve(given: str) -> tuple[bytes, dict[str, Any] | None]:
    return resolve_proposal_id(_Node(), given)  # type: ignore[arg-type]


def test_a_unique_start_names_its_proposal() -> None:
    assert _resolve("9f00")[0].hex() == C
    assert _resolve("ABCD1")[0].hex() == A  # any case
    assert _resolve("9f003333…")[0].hex() == C  # as `list` shortens an id
    whole, listed = _resolve("7" * 64)  # a whole id is taken as it is: the ledger judges it
    assert whole.hex() == "7" * 64 and listed is None


@pytest.mark.parametrize(("given", "code", "words"), [
    ("abcd", 2, "abcd starts the ids of 2 proposals: abcd111111111111… (open: run the "
                "ledger rules of version 4 from height 50); abcd222222222222… (expired"),
    ("beef", 1, "no proposal the node lists starts with beef"),
    ("9f0", 2, "give at least the first 4 hex digits of the proposal id"),
    ("xyz1", 2, "the proposal id must be hex digits"),
    ("", 2, "the proposal id must be hex digits"),
    ("a" * 65, 2, "the proposal id must be hex digits"),
])
def test_an_ambiguous_unknown_or_malformed_start_is_refused(
        given: str, code: int, words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _resolve(given)
    assert exited.value.code == code
    assert words in capsys.readouterr().err

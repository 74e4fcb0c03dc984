"""`--max-age` against a node that answers from an old block: a genuine diploma issued since
is absent from that block's state. It was called UNKNOWN, "never issued here" (exit 1, the
employer told the graduate's diploma is no record of the chain), from the very answer
--max-age is there to refuse as too old; it is stale, as a valid answer that old is. A
file recorded nowhere, checked the same way, is stale too; without --max-age, an absence is
still said as one."""

from __future__ import annotations

import json
from pathlib import Path

from cli.language import Words
from ledger.credentials import make_batch
from tests.cli.test_verify_across_set_changes import net, node_url, senim, verdict_of
from tests.node.conftest import CHAIN_ID, Consortium, documents_of

__all__ = ["net", "node_url"]  # the fixtures: a node whose head is a block of 2023


async def test_an_absence_in_an_answer_older_than_max_age_is_stale(
        net: Consortium, node_url: str, tmp_path: Path) -> None:
    batch = make_batch([{"full_name": "Aigerim", "gpa": "3.9"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")  # never committed: "issued since"
    later, anchored = tmp_path / "later.json", tmp_path / "letter.txt"
    later.write_text(json.dumps(documents_of(batch)[0]), "utf-8")
    anchored.write_text("a letter recorded nowhere", "utf-8")
    genesis = str(tmp_path / "genesis.json")
    for path in (later, anchored):
        checked = await senim("verify", str(path), "--node", node_url, "--genesis", genesis,
                              "--max-age", "600", "--json")
        assert checked.exit_code == 1, checked.output
        verdict = verdict_of(checked)
        assert verdict["status"] == "stale", verdict
        assert verdict["facts"]["answer_age_s"] > 600, verdict
        for language in ("en", "kk", "ru"):
            said = await senim("verify", str(path), "--node", node_url, "--genesis", genesis,
                               "--max-age", "600", "--lang", language)
            assert said.exit_code == 1, said.output
            if language == "en":  # said as its status and the ledger's reason
                before, after = "STALE: ", "; a record made since would not show in it"
            else:
                before, after = Words(language).t("cli.status.stale_absent",
                                                  asOf="\x00").split("\x00")
            assert said.output.startswith(before) and after in said.output, said.output
        unbounded = await senim("verify", str(path), "--node", node_url, "--genesis", genesis,
                                "--json")
        assert unbounded.exit_code == 1 and verdict_of(unbounded)["status"] == "unknown"

"""No --max-age: an answer as of a block days old is still the verdict (a quiet consortium
makes no block for days, and a bound by default would call a genuine diploma stale), but
the HR officer is told how old it is and what a revocation since would not show, in their
language; --json keeps the age. With --max-age the reader chose the bound: no note."""

from __future__ import annotations

from pathlib import Path

from cli.language import Words
from tests.cli.test_verify_across_set_changes import net, node_url, senim, verdict_of

__all__ = ["net", "node_url"]  # the fixtures: a node whose head is a block of 2023


async def test_an_old_answer_is_said_old(node_url: str, tmp_path: Path) -> None:
    genesis, diploma = str(tmp_path / "genesis.json"), str(tmp_path / "diploma.json")
    checked = await senim("verify", diploma, "--node", node_url, "--genesis", genesis, "--json")
    assert checked.exit_code == 0, checked.output
    facts = verdict_of(checked)["facts"]
    assert facts["old_answer"] and facts["answer_age_s"] > 365 * 24 * 3600, facts
    for language in ("en", "kk", "ru"):
        said = await senim("verify", diploma, "--node", node_url, "--genesis", genesis,
                           "--lang", language)
        assert said.exit_code == 0, said.output
        before = Words(language).t("cli.fresh.old_answer", asOf="\x00", days=0).split("\x00")[0]
        after = Words(language).t("cli.fresh.old_answer", asOf="\x00",
                                  days="\x00").split("\x00")[-1]
        assert before in said.output and after in said.output, said.output
    bounded = await senim("verify", diploma, "--node", node_url, "--genesis", genesis,
                          "--max-age", str(10 * 365 * 24 * 3600))
    assert bounded.exit_code == 0 and "day(s) ago" not in bounded.output, bounded.output


async def test_an_old_offline_proof_is_said_old(node_url: str, tmp_path: Path) -> None:
    """A proof made at graduation shows no revocation made since: said so, in words."""
    genesis, proved = str(tmp_path / "genesis.json"), tmp_path / "proved.json"
    made = await senim("prove", str(tmp_path / "diploma.json"), "--out", str(proved),
                       "--node", node_url)
    assert made.exit_code == 0, made.output
    for language in ("en", "kk", "ru"):
        said = await senim("verify", str(proved), "--offline", "--genesis", genesis,
                           "--lang", language)
        assert said.exit_code == 0, said.output
        after = Words(language).t("cli.fresh.old_answer", asOf="\x00",
                                  days="\x00").split("\x00")[-1]
        assert after in said.output, said.output

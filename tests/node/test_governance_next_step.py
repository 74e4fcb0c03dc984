"""What a ministry is told to do next: `governance propose` said the proposal's id and
heights, and `governance list` who had not voted, but neither how a voter votes (only
`governance revoke` named `senim governance vote`). Now both say the command, in the
official's language, and `list` says it only while a proposal can take a vote."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli.main import main
from tests.cli.test_ministry_languages import said_in
from tests.node.test_governance import Council
from tests.node.test_governance_cli import _ChainClient, _key, chain_client, council

__all__ = ["chain_client", "council"]  # fixtures, used by name

HOW_TO_VOTE = {
    "en": "To vote for an open proposal, a voter that has not voted yet runs: senim "
          "governance vote --key KEY PROPOSAL_ID (the id's first 8 digits are enough unless "
          "another proposal starts with them).\n",
    "kk": "Ашық ұсынысқа дауыс беру үшін басқаруда дауыс беретін, әлі дауыс бермеген "
          "министрлік мына команданы орындайды: senim governance vote --key КІЛТ "
          "ҰСЫНЫС_ИДЕНТИФИКАТОРЫ (басқа ұсыныс сол цифрлардан басталмаса, идентификатордың "
          "алғашқы 8 цифры жеткілікті).\n",
    "ru": "Чтобы проголосовать за открытое предложение, голосующее министерство, которое ещё "
          "не голосовало, выполняет: senim governance vote --key КЛЮЧ "
          "ИДЕНТИФИКАТОР_ПРЕДЛОЖЕНИЯ (достаточно первых 8 цифр идентификатора, если с них не "
          "начинается другое предложение).\n",
}


def test_propose_and_list_say_how_the_other_voters_vote(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    runner = CliRunner()
    first = _key(tmp_path, council.ministry, "m1")
    second = _key(tmp_path, council.ministry2, "m2")
    listed = runner.invoke(main, ["governance", "list", "--lang", "en"])
    assert listed.exit_code == 0 and "To vote" not in listed.output, listed.output

    proposed = runner.invoke(main, ["governance", "propose", "--key", first, "--action",
                                    "add-validator", "--member", "KazNU",
                                    "--effective-height", "10", "--lang", "en"])
    assert proposed.exit_code == 0, proposed.output
    proposal_id = proposed.output.split("proposal id: ")[1].split()[0]
    assert (f"it needs 1 more vote(s) of the other governance voters by height 8: each runs "
            f"senim governance vote --key KEY {proposal_id}\n") in proposed.output
    for lang in ("en", "kk", "ru"):
        listed = runner.invoke(main, ["governance", "list", "--lang", lang])
        said = listed.output if lang == "en" else said_in(lang, listed, 0)
        assert said.endswith(HOW_TO_VOTE[lang]), said

    voted = runner.invoke(main, ["governance", "vote", "--key", second, proposal_id[:8]])
    assert voted.exit_code == 0, voted.output
    for lang in ("en", "kk", "ru"):  # approved: nothing is open to vote for
        listed = runner.invoke(main, ["governance", "list", "--lang", lang])
        assert listed.exit_code == 0, listed.output
        assert HOW_TO_VOTE[lang].strip() not in listed.output, listed.output


def test_propose_says_the_next_step_in_kazakh_and_russian(
        tmp_path: Path, council: Council, chain_client: type[_ChainClient]) -> None:
    first = _key(tmp_path, council.ministry, "m1")
    said = {}
    for lang, height in (("kk", "10"), ("ru", "11")):
        proposed = CliRunner().invoke(main, ["governance", "propose", "--key", first,
                                             "--action", "add-validator", "--member", "KazNU",
                                             "--effective-height", height, "--lang", lang])
        said[lang] = said_in(lang, proposed, 0)
    assert ("оған басқаруда дауыс беретін басқа министрліктерден 8-блокқа дейін тағы 1 дауыс "
            "қажет: әрқайсысы мына команданы орындайды: senim governance vote --key КІЛТ "
            in said["kk"])
    assert ("до блока 9 нужно ещё голосов других голосующих министерств: 1; каждое из них "
            "выполняет: senim governance vote --key КЛЮЧ " in said["ru"])

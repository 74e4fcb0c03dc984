"""`senim members` says, in the reader's language, when a member was admitted with its
ministry's key declared stolen since (rules version 9)."""

from __future__ import annotations

from ledger.rules_version import ADMITTED_BY_RECORDED_FROM
from storage.kv import MemoryStore
from tests.cli.test_ministry_languages import senim
from tests.node.api_server import api_core, serving_url
from tests.node.test_governance import make_council
from tests.node.test_stolen_key_admission import admitted
from tests.node.test_stolen_key_records import rotate_and_report


async def test_senim_members_says_an_admission_in_doubt() -> None:
    council = make_council(rules_version=ADMITTED_BY_RECORDED_FROM)
    core = api_core(council.ministry, council.genesis, MemoryStore())
    stolen_at = core.chain.height + 1
    admitted(core.chain, council.ministry3, "Diploma Mill")
    rotate_and_report(core.chain, council.ministry3, stolen_at)
    async with serving_url(core) as url:
        for lang, said in (("en", "nothing it records is recognised"),
                           ("ru", "ничто из записанного им не признаётся"),
                           ("kk", "ешқайсысы танылмайды")):
            shown = await senim("members", "--node", url, "--lang", lang)
            assert shown.exit_code == 0, shown.output
            line = next(x for x in shown.output.splitlines()
                        if str(stolen_at) in x and said in x)
            mill = shown.output.index("Diploma Mill")
            assert shown.output.index(line) > mill and "{" not in line, shown.output

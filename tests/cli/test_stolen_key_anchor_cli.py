"""`senim verify THESIS.pdf` of a file anchored with a key declared stolen since: the
verdict says so in each language. It said "this file is a PDF, not a Senim credential",
as for a file no chain records, since any failed anchor verdict was taken for none."""

from __future__ import annotations

from pathlib import Path

from ledger.anchor_verification import document_hash
from ledger.identity import KeyPair
from ledger.key_events import prove_possession
from ledger.payloads import AnchorPayload, ReportCompromisePayload, RotateKeyPayload
from storage.kv import MemoryStore
from tests.cli.test_ministry_languages import said_in, senim
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import CHAIN_ID, commit, make_consortium, make_tx
from tests.node.engine_node import running_engine


async def test_a_pdf_anchored_with_a_stolen_key_says_so(tmp_path: Path) -> None:
    net = make_consortium()
    core = api_core(net.ministry, net.genesis, MemoryStore())
    thesis = tmp_path / "thesis.pdf"
    thesis.write_bytes(b"%PDF-1.7 a thesis")
    university = net.university
    stolen_at = core.chain.height + 1
    commit(core.chain, [make_tx(university, AnchorPayload(document_hash(thesis.read_bytes())))])
    fresh = KeyPair.generate()
    commit(core.chain, [make_tx(university, RotateKeyPayload(fresh.public_key, prove_possession(
        fresh, CHAIN_ID, university.member_id)))])
    commit(core.chain, [make_tx(KeyPair.from_seed(fresh.seed, university.member_id),
                                ReportCompromisePayload(university.public_key, stolen_at))])
    async with running_engine(core), serving_url(core) as url:
        for lang, said in (("kk", "ұрланған"), ("ru", "похищенным")):
            shown = said_in(lang, await senim("verify", str(thesis), "--node", url,
                                              "--lang", lang), 1)
            assert said in shown and "PDF" not in shown, shown
        english = await senim("verify", str(thesis), "--node", url)
        assert english.exit_code == 1 and "COMPROMISED_KEY" in english.output, english.output
        assert "stolen" in english.output and "not a Senim credential" not in english.output

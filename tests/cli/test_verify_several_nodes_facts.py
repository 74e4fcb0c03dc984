"""`senim verify` asking two nodes without --genesis: each answer is its node's word, its
account of the record as much as its verdict. Two forks of one genesis each hold the same
diploma, issued a month apart: both say VALID, and the reader is told that the nodes differ
on the date it was issued (in every language, and in --json), not shown one node's date
as if it were the only one. Two nodes serving one chain say nothing of the kind."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.language import Words
from ledger.anchor_verification import document_hash
from ledger.credentials import make_batch
from ledger.payloads import AnchorPayload, IssueBatchPayload
from storage.kv import MemoryStore
from tests.cli.test_verify_across_set_changes import senim, verdict_of
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import (
    CHAIN_ID,
    DAY_MS,
    GENESIS_TIME_MS,
    Consortium,
    accredit,
    commit,
    documents_of,
    make_consortium,
    make_tx,
    snapshot,
)


@dataclass(frozen=True)
class Forks:
    first: str  # the diploma issued in block 2, a second after genesis
    same: str  # a copy of the first chain
    later: str  # another block 2, a month later, issuing the same batch
    diploma: Path
    genesis: Path


@pytest.fixture
async def forks(tmp_path: Path) -> AsyncIterator[Forks]:
    net: Consortium = make_consortium()
    batch = make_batch([{"full_name": "Aigerim", "gpa": "3.9"}], "diploma", CHAIN_ID,
                       net.university.member_id, "KazNU")
    issue = make_tx(net.university, IssueBatchPayload("diploma", batch.root, 1))
    stores = [MemoryStore() for _ in range(3)]
    try:
        first, later = (api_core(net.ministry, net.genesis, kv) for kv in stores[:2])
        for core in (first, later):
            commit(core.chain, [accredit(net, net.university, ["diploma"])])
        commit(first.chain, [issue])
        commit(later.chain, [issue], time_ms=GENESIS_TIME_MS + 30 * DAY_MS)
        stores[2].write(dict[bytes, bytes | None](snapshot(stores[0])))
        same = api_core(net.ministry, net.genesis, stores[2])
        assert first.chain.height == later.chain.height == same.chain.height == 2
        diploma, genesis = tmp_path / "diploma.json", tmp_path / "genesis.json"
        diploma.write_text(json.dumps(documents_of(batch)[0]))
        genesis.write_text(json.dumps(net.genesis.to_json()))
        async with (serving_url(first, "first") as first_url,
                    serving_url(same, "same") as same_url,
                    serving_url(later, "later") as later_url):
            yield Forks(first_url, same_url, later_url, diploma, genesis)
    finally:
        for kv in stores:
            kv.close()


async def test_valid_answers_that_differ_on_the_issue_date_are_said_to(forks: Forks) -> None:
    for language in ("en", "kk", "ru"):
        words = Words(language)
        said = await senim("verify", str(forks.diploma), "--node", forks.first, "--node",
                           forks.later, "--lang", language)
        assert said.exit_code == 0, said.output
        which = words.t("cli.nodes.fact.issued_at")
        expected = words.t("cli.nodes.facts_differ", node=forks.later, shown=forks.first,
                           which=which)
        assert expected in said.output, said.output
    listed = await senim("verify", str(forks.diploma), "--node", forks.first, "--node",
                         forks.later, "--json")
    assert listed.exit_code == 0, listed.output
    nodes = verdict_of(listed)["nodes"]
    assert [(n["node"], n["valid"], n["facts_differ"]) for n in nodes] == [
        (forks.first, True, []), (forks.later, True, ["issued_at"])]


async def test_one_chain_served_twice_differs_on_nothing(forks: Forks) -> None:
    said = await senim("verify", str(forks.diploma), "--node", forks.first, "--node",
                       forks.same)
    assert said.exit_code == 0, said.output
    assert "they differ on" not in said.output and "--genesis" not in said.output, said.output
    listed = await senim("verify", str(forks.diploma), "--node", forks.first, "--node",
                         forks.same, "--json")
    assert [n["facts_differ"] for n in verdict_of(listed)["nodes"]] == [[], []]



async def test_nodes_whose_anchors_differ_by_author_say_so_once_for_the_issuer_named_too(
        tmp_path: Path) -> None:
    """One file naming KazNU as its issuer, anchored by Kaspi on one chain and by KazNU on
    another: besides the author, the one says the file names another issuer
    (`named_issuer`) and the other does not. That follows from who recorded it alone, so
    the reader is told the nodes differ on who recorded it, not on "other details" too."""
    net = make_consortium()
    order = tmp_path / "order.json"
    order.write_text(json.dumps({"issuer": "KazNU", "title": "Order 17: graduates"}))
    stores = [MemoryStore() for _ in range(2)]
    try:
        by_employer, by_university = (api_core(net.ministry, net.genesis, kv) for kv in stores)
        for core, member in ((by_employer, net.employer), (by_university, net.university)):
            commit(core.chain, [make_tx(member, AnchorPayload(document_hash(
                order.read_bytes())))])
        async with (serving_url(by_employer, "employer") as employer_url,
                    serving_url(by_university, "university") as university_url):
            listed = await senim("verify", str(order), "--node", university_url, "--node",
                                 employer_url, "--json")
            assert listed.exit_code == 0, listed.output
            nodes = verdict_of(listed)["nodes"]
            assert [(n["valid"], n["facts_differ"]) for n in nodes] == [
                (True, []), (True, ["author", "author_id", "named_issuer"])], nodes
            for language in ("en", "kk", "ru"):
                words = Words(language)
                said = await senim("verify", str(order), "--node", university_url, "--node",
                                   employer_url, "--lang", language)
                assert said.exit_code == 0, said.output
                expected = words.t("cli.nodes.facts_differ", node=employer_url,
                                   shown=university_url,
                                   which=words.t("cli.nodes.fact.author"))
                assert expected in said.output, said.output
    finally:
        for kv in stores:
            kv.close()

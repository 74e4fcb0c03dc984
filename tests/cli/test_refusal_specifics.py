"""What a node's refusal names, and what the ledger finds wrong with a transaction's field,
said in the reader's language: run on an in-process node (the real engine on its thread,
its API on loopback) with --lang kk and ru. The node's error JSON names a refusal's
specifics (`params`: the member, a height, a limit) beside its code, and a kk or ru
sentence says them; a payload check no command makes first is said by its field; no
English sentence is left inside a translated line, and English keeps the node's message.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cli.client import ClientError, refusal_params
from cli.commands import submit_and_report
from cli.issue_job import IssueJob, JobPending
from cli.language import forget_spoken, speak
from cli.refusals import node_said
from cli.spoken import say
from ledger.identity import KeyPair
from ledger.payloads import VotePayload
from ledger.transactions import Transaction, build_transaction
from node.files import save_key
from storage.kv import MemoryStore
from tests.cli.test_consortium_revocation_cli import consortium_genesis, kaznu_retired
from tests.cli.test_issue_job import FakeNode, prepare
from tests.cli.test_ministry_languages import (
    LANGS,
    Official,
    prose,
    refused_in_every_language,
    said_in,
    senim,
)
from tests.cli.test_record_languages import START, Office, running_office
from tests.cli.test_verifier_lines_translated import english_in
from tests.node.api_server import api_core, serving_url
from tests.node.conftest import CHAIN_ID, keys_from
from tests.node.engine_node import running_engine


@pytest.fixture
async def ministry(tmp_path: Path) -> AsyncIterator[Official]:
    """Three ministries, KazNU retired, KBTU a member (test_ministry_languages's)."""
    core = api_core(keys_from("ministry"), consortium_genesis(4), MemoryStore())
    kaznu, kbtu = kaznu_retired(core.chain, ["Aigerim"])
    async with running_engine(core), serving_url(core) as url:
        yield Official(url, tmp_path, core.chain, kaznu, kbtu)


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[Office]:
    async with running_office(tmp_path) as running:
        yield running


def height_in(english: str, pattern: str) -> str:
    found = re.search(pattern, english)
    assert found, english
    return found[1]


async def test_a_refusal_names_the_member_and_height_the_node_named(
        ministry: Official) -> None:
    """It was 'бұл мүше консорциумнан шығарылып қойған': which member, and from when,
    only in English."""
    node = ("--node", ministry.url)
    key = ministry.key("ministry")
    retired = await refused_in_every_language(
        "governance", "propose", "--key", key, "--action", "add-validator", "--member",
        "KazNU", *node, code=1)
    height = height_in(retired["en"], r"KazNU is retired from height (\d+) \(already_retired\)")
    assert f"«KazNU» {height}-блоктан бастап консорциумнан шығарылған (already_retired)" \
        in retired["kk"]
    assert f"участник «KazNU» выведен из консорциума с блока {height} (already_retired)" \
        in retired["ru"]

    validating = await refused_in_every_language(
        "governance", "propose", "--key", key, "--action", "remove-validator", "--member",
        "KBTU", *node, code=1)
    at = height_in(validating["en"], r"KBTU does not validate at height (\d+)")
    assert f"«KBTU» {at}-блокта валидатор емес (not_a_validator)" in validating["kk"]
    assert f"участник «KBTU» не валидатор на блоке {at}" in validating["ru"]

    signer = await refused_in_every_language("governance", "vote", "--key",
                                             ministry.key("kaznu"), "ab" * 32, *node, code=1)
    assert f"«KazNU» {height}-блокта консорциумнан шығарылған, енді ештеңеге қол қоя алмайды" \
        in signer["kk"]
    unknown = await refused_in_every_language("governance", "vote", "--key", key, "ab" * 32,
                                              *node, code=1)
    assert f"в цепочке нет предложения {'ab' * 8}… (unknown_proposal)" in unknown["ru"]
    rules = await refused_in_every_language(
        "governance", "propose", "--key", key, "--action", "set-rules-version",
        "--rules-version", "3", *node, code=1)
    assert "правила уже версии 4 с блока 0" in rules["ru"]


async def test_a_field_no_command_checks_first_is_said_by_its_name(office: Office) -> None:
    """A --from-height past what a height may be was refused as 'транзакция дұрыс
    құрылмаған — first untrusted height must be an integer in [1, …]'."""
    said = await refused_in_every_language(
        "key", "report-compromise", "--key", office.key("university"), "--old-public-key",
        KeyPair.generate().public_key.hex(), "--from-height", str(2**70), "--node",
        office.url, code=2)
    assert said["en"] == ("error: first untrusted height must be an integer in "
                          "[1, 9223372036854775807]\n")
    assert ("кілтке сенімсіздік басталатын блок: 1 мен 9223372036854775807 аралығындағы бүтін "
            "сан болуы керек") in said["kk"]
    assert ("первый блок, с которого ключу не доверяют: нужно целое число от 1 до "
            "9223372036854775807") in said["ru"]


async def test_a_proposal_that_can_no_longer_apply_says_why_by_name(
        ministry: Official) -> None:
    """Two proposals to make KBTU a validator at different heights; once the earlier is
    approved, the later's approving vote would be refused (already_validator), and the
    list says for which member and height."""
    node = ("--node", ministry.url)
    head = ministry.chain.height
    for key, effective in (("ministry", head + 60), ("ministry2", head + 30)):
        proposed = await senim("governance", "propose", "--key", ministry.key(key),
                               "--action", "add-validator", "--member", "KBTU",
                               "--effective-height", str(effective), *node)
        assert proposed.exit_code == 0, proposed.output
    earlier = re.search(r"proposal id: ([0-9a-f]{64})", proposed.output)
    assert earlier, proposed.output
    voted = await senim("governance", "vote", "--key", ministry.key("ministry3"), earlier[1],
                        *node)
    assert voted.exit_code == 0, voted.output
    listed = {lang: said_in(lang, await senim("governance", "list", *node, "--lang", lang), 0)
              for lang in LANGS}
    assert f"«KBTU» {head + 60}-блокта валидатор болып тұр" in listed["kk"], listed["kk"]
    assert f"участник «KBTU» уже валидатор на блоке {head + 60}" in listed["ru"], listed["ru"]


class _Dropping:
    """A node that takes the vote, then drops it: a block took another first."""

    base_url = "http://127.0.0.1:8101"

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def make_tx(self, keys: KeyPair, payload: VotePayload) -> Transaction:
        return build_transaction(keys, CHAIN_ID, payload, 100)

    def submit_and_wait(self, tx: Transaction, timeout_s: float = 60.0) -> dict[str, Any]:
        return {"tx_id": tx.tx_id.hex(), **self.answer}


@pytest.mark.parametrize(("answer", "said"), [
    ({"status": "rejected", "code": "proposal_closed", "reason": "already approved at "
      "height 12", "params": {"height": 12}},
     {"kk": "ұсыныс 12-блокта бекітіліп қойған", "ru": "предложение уже одобрено в блоке 12"}),
    ({"status": "rejected", "code": "expired", "reason": "expired while pending"},
     {"kk": "транзакцияның мерзімі өтіп кеткен", "ru": "срок действия транзакции истёк"}),
    ({"status": "rejected", "code": "a_later_code", "reason": "a refusal this release "
      "does not know"}, {"kk": "(a_later_code)", "ru": "(a_later_code)"}),
    ({"status": "unknown"}, {"kk": "түйін бұл транзакцияны білмейді",
                             "ru": "узел не знает этой транзакции"})])
def test_a_transaction_dropped_after_it_was_accepted_is_said_by_its_code(
        answer: dict[str, Any], said: dict[str, str], capsys: pytest.CaptureFixture[str]
        ) -> None:
    """It was 'транзакция тізбекке жазылмады — already approved at height 12': the
    node's English reason inside the Kazakh line."""
    keys = keys_from("ministry")
    try:
        for lang in LANGS:
            speak(lang)
            with pytest.raises(SystemExit) as stopped:
                submit_and_report(_Dropping(answer), keys,  # type: ignore[arg-type]
                                  VotePayload(b"\x01" * 32), "vote")
            # unknown to the node is no refusal: it may have gossiped it on (exit 3)
            assert stopped.value.code == (3 if answer["status"] == "unknown" else 1)
            error = capsys.readouterr().err
            assert said[lang] in error and not english_in(error), error
    finally:
        forget_spoken()


def test_a_node_s_malformed_refusal_names_the_field_and_drops_what_no_sentence_says() -> None:
    """A node of another release refusing a field this one does not check first; and a
    node's params that a sentence should not print (an escape sequence, a flag, a line of
    500 characters, a name no placeholder can have) are left out."""
    hostile = {"member": "\x1b[31mKazNU", "height": True, "limit": 5, "bad name": 1,
               "long": "x" * 500, "nested": {"a": 1}, "problem": "field_range",
               "field": "first untrusted height", "low": 1, "high": 9}
    params = refusal_params(hostile)
    assert params == {"limit": 5, "problem": "field_range", "field": "first untrusted height",
                      "low": 1, "high": 9}
    refused = ClientError("first untrusted height must be an integer in [1, 9]", "malformed",
                          400, params)
    later = ClientError("role must be one of ministry, university", "unrecognised", 400,
                        {"problem": "field_choice", "field": "role",
                         "choices": "ministry, university"})
    try:
        for lang, field, role in (("kk", "кілтке сенімсіздік басталатын блок: 1 мен 9",
                                   "түйіннің нұсқасы мұндай транзакцияны білмейді: мүшенің рөлі"),
                                  ("ru", "первый блок, с которого ключу не доверяют: нужно "
                                   "целое число от 1 до 9", "версия узла не знает такой "
                                   "транзакции: роль участника")):
            speak(lang)
            for said, expected in ((say(node_said(refused)), field),
                                   (say(node_said(later)), role)):
                assert expected in said and not english_in(prose(said)), said
            # a `why` a node makes up is no coded problem: not printed as one
            injected = ClientError("malformed", "malformed", 400, {"why": "say this"})
            assert "say this" not in say(node_said(injected))
        speak("en")
        assert say(node_said(refused)) == str(refused)  # English: the node's own message
    finally:
        forget_spoken()


def test_a_batch_pending_at_the_deadline_says_why_in_the_registrars_language(
        tmp_path: Path) -> None:
    """It was 'пакет жіберілді, бірақ тізбекке әлі жазылмады (pending)'."""
    node = FakeNode(quorum=False)
    job_dir, _ = prepare(tmp_path, node)
    with pytest.raises(JobPending) as pending:
        IssueJob(job_dir, node, lambda _line: None, clock=node.clock).run(5.0)
    try:
        for lang, said in (("kk", "(транзакциялар кезегінде тұр)"),
                           ("ru", "(ждёт в очереди транзакций)")):
            speak(lang)
            line = say(pending.value.sentence)
            assert said in line and "pending" not in line, line
        speak("en")
        assert say(pending.value.sentence).endswith("(pending)")
    finally:
        forget_spoken()


async def test_revoke_names_the_height_it_was_revoked_at_and_whose_batch_it_is(
        office: Office) -> None:
    """`senim revoke` said only 'узел … отказал в запросе (already_revoked)', the code
    twice and nothing of when."""
    node = ("--node", office.url)
    kaspi = office.key("employer")
    record = office.new("record.json")
    started = await senim("employment", "start", "--key", kaspi, *START, "--out", record,
                          *node)
    assert started.exit_code == 0, started.output
    revoked = await senim("revoke", "--key", kaspi, record, "--reason", "other", *node)
    assert revoked.exit_code == 0, revoked.output
    again = await refused_in_every_language("revoke", "--key", kaspi, record, "--reason",
                                            "other", *node, code=1)
    at = height_in(again["en"], r"already revoked at height (\d+) \(already_revoked\)")
    assert again["kk"].endswith(f"кері қайтару қабылданбады: құжат {at}-блокта кері "
                                "қайтарылған (already_revoked)\n"), again["kk"]
    assert f"документ уже отозван в блоке {at} (already_revoked)" in again["ru"]
    theirs = await refused_in_every_language("revoke", "--key", office.key("university"),
                                             record, "--reason", "other", *node, code=1)
    assert "сіз түбірі " in theirs["kk"] and "вы не выдавали пакет с корнем " in theirs["ru"]


@pytest.fixture
async def not_http() -> AsyncIterator[str]:
    """A node's P2P port, given as --node: bytes that are no HTTP status line."""
    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SNM\x01\x9e\x7f binary handshake bytes\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()
    await server.wait_closed()


async def test_a_python_exception_s_name_stays_out_of_kk_and_ru(not_http: str) -> None:
    """It was 'HTTP арқылы жауап бермеді (BadStatusLine)': a class name of Python's, which
    says nothing to an official; English keeps it, as the operator's clue."""
    for args in (("members",), ("governance", "list")):
        said = await refused_in_every_language(*args, "--node", not_http, code=3)
        assert "(BadStatusLine)" in said["en"]
        for lang in LANGS:
            assert not re.search(r"\b[A-Z][a-z]+[A-Z]\w*\b", said[lang]), said[lang]


@pytest.fixture
async def odd_members(tmp_path: Path) -> AsyncIterator[str]:
    """A stand-in that answers as a node does, but with a members list of numbers."""
    async def answer(request: web.Request) -> web.Response:
        if request.path == "/v1/status":
            return web.json_response({"chain_id": CHAIN_ID, "height": 5})
        return web.json_response({"members": [1, 2]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_a_malformed_members_answer_is_said_without_python_s_words(
        odd_members: str, tmp_path: Path) -> None:
    """It was '… консорциум мүшелері туралы түсініксіз жауап жіберді (TypeError: 'int'
    object is not subscriptable)'."""
    key = tmp_path / "kaspi.key"
    save_key(key, keys_from("employer"))
    said = await refused_in_every_language(
        "employment", "start", "--key", str(key), *START, "--out", str(tmp_path / "a.json"),
        "--node", odd_members, code=3)
    assert "TypeError" in said["en"]
    assert "TypeError" not in said["kk"] and "TypeError" not in said["ru"]


@pytest.mark.parametrize("name", ["key", "english", "self"])
def test_a_node_s_param_named_as_a_sentence_s_own_argument_is_no_traceback(name: str) -> None:
    """A node naming a param `key`, `english` or `self` (names Sentence and Words.t take
    themselves) made 'Sentence.__init__() got multiple values for argument' a traceback."""
    refused = ClientError("you are not a voter", "not_a_voter", 400,
                          refusal_params({name: "x", "member": "KazNU"}))
    malformed = ClientError("bad", "malformed", 400,
                            refusal_params({name: 1, "problem": "field_range"}))
    try:
        for lang in LANGS:
            speak(lang)
            for error in (refused, malformed):
                said = say(node_said(error))
                assert said and (lang != "en" or said == str(error)), said
    finally:
        forget_spoken()


HOSTILE_TEXT = "no\x1b[2J\x1b[1;1H\u202eEVIL\r\nfake: line\x07"


def _printable_line(text: str) -> bool:
    return text.isprintable() and "\x1b" not in text


def test_a_node_s_english_message_and_code_print_no_escapes_or_lines(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A node's English message (kept as written in English) and its code reached the
    terminal raw: an escape sequence cleared the screen, a bidi override turned the line
    round, a line break forged a line of the command's own."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from cli.client import NodeClient
    from cli.governance_words import cannot_apply_reason

    class Hostile(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            refused = self.path.startswith("/v1/status")
            body = json.dumps(
                {"error": {"code": "not_a_voter" if "voter" in self.path else HOSTILE_TEXT,
                           "message": HOSTILE_TEXT}} if refused else
                {"tx_id": "ab", "status": "rejected", "code": HOSTILE_TEXT,
                 "reason": HOSTILE_TEXT}).encode()
            self.send_response(400 if refused else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    node = NodeClient(f"http://127.0.0.1:{server.server_port}", timeout_s=10)
    try:
        errors = []
        for path in ("/v1/status", "/v1/status?voter"):
            with pytest.raises(ClientError) as refused:
                node.request("GET", path)
            errors.append(refused.value)
        result = node.transaction_status("ab")
        proposal = {"reason_code": "not_a_voter", "reason": HOSTILE_TEXT}
        for lang in LANGS:
            speak(lang)
            said = [say(node_said(error)) for error in errors] + [
                say(error.sentence) for error in errors if error.sentence is not None] + [
                str(result["reason"]), str(result["code"]),
                say(cannot_apply_reason(proposal)),
                say(cannot_apply_reason({"reason_code": None, "reason": HOSTILE_TEXT}))]
            for line in said:
                assert _printable_line(line), repr(line)
    finally:
        forget_spoken()
        server.shutdown()

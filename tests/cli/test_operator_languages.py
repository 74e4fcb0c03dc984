"""The operator's commands in the operator's language: `senim status` against a running
in-process node (the real engine on its thread, its API on loopback) and `senim fsck`
against a real LevelDB store, sound and then damaged, with --lang kk and ru and with
LANG=ru_RU.UTF-8: what they report (a scheduled role change, a retirement, no quorum,
each problem of a damaged store, the advice to resync), their refusals (a node down, a
store a node holds, a bad config, no store) and `senim tls-cert`'s come out in Kazakh or
Russian, no English sentence among them, no traceback, with English's exit code; English
is as it was, and `--json` the same in every language."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner, Result

from cli.main import main
from ledger.payloads import MemberAction, ProposePayload, VotePayload
from ledger.payloads_consortium import (
    ACTION_ADD_VALIDATOR,
    ACTION_REMOVE_VALIDATOR,
    ACTION_RETIRE_MEMBER,
)
from node.api import StatusProvider, make_app
from node.config import load_config, render_config
from node.engine import Engine
from node.files import save_key
from node.service import NodeCore
from node.signed_mark import SignedMarkDamaged
from node.store_failures import EXIT_DAMAGED, store_failed
from node.store_setup import resync_as_fresh
from storage.kv import LevelDBStore, MemoryStore
from tests.cli.test_ministry_languages import (
    DOWN,
    PREFIX,
    refused_in_every_language,
    said_in,
    senim,
)
from tests.cli.test_verifier_lines_translated import english_in
from tests.node.api_server import api_core
from tests.node.conftest import commit, make_consortium, make_tx
from tests.node.engine_node import running_engine
from tests.node.node_folders import store_held_by_another_process
from tests.node.test_governance import Council, make_council
from tests.storage.damaged_store import build_store

LANGS = ("kk", "ru")


@dataclass
class KazNU:
    url: str
    core: NodeCore
    council: Council


# One connection as node.network.Network.status lists it: the in-process node has no
# network, and its consensus is its engine's own.
PEER = {"member": "Ministry of Science", "validator": True, "authenticated": True,
        "direction": "outbound", "address": "127.0.0.1:9001", "connected_s": 12.5}


class EngineStatus(StatusProvider):
    """What the daemon's API says of consensus (node.gauges.NodeStatus): the engine's."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def consensus(self) -> dict[str, Any]:
        return self.engine.status()

    def peers(self) -> list[dict[str, Any]]:
        return [PEER]


@asynccontextmanager
async def serving_engine(core: NodeCore, name: str) -> AsyncIterator[str]:
    """`core` with its engine running, its API (on a local port, its URL given) saying
    what the engine says of consensus."""
    async with running_engine(core) as engine:
        client: TestClient[Any, Any] = TestClient(TestServer(make_app(
            core, name, EngineStatus(engine))))
        await client.start_server()
        try:
            yield str(client.make_url("")).rstrip("/")
        finally:
            await client.close()
            core.worker.shutdown(wait=True)


@pytest.fixture
async def kaznu() -> AsyncIterator[KazNU]:
    """KazNU's node, a member that does not validate, its engine running on its own: the
    four validators are out of its reach."""
    council = make_council()
    core = api_core(council.university, council.genesis, MemoryStore())
    async with serving_engine(core, "kaznu-1") as url:
        yield KazNU(url, core, council)


async def test_a_validators_status_speaks_kk_and_ru() -> None:
    """The ministry's node, the lone validator: its engine commits, in PBFT."""
    net = make_consortium()
    core = api_core(net.ministry, net.genesis, MemoryStore())
    async with serving_engine(core, "ministry-1") as url:
        english = (await senim("status", "--node", url, "--lang", "en")).output
        assert "consensus PBFT, 1 validators (tolerates 0 faulty); view 0, primary Ministry " \
               "of Science, phase " in english
        said = said_in("kk", await senim("status", "--node", url, "--lang", "kk"), 0)
        assert "Консенсус: PBFT, 1 валидатор (0 ақаулы валидаторға төзімді); көрініс (view) " \
               "0, негізгі түйін (primary): Ministry of Science, кезең: " in said
        assert "Валидаторлар: осы түйіннен 1 валидатордың 1-і қолжетімді" in said
        said = said_in("ru", await senim("status", "--node", url, "--lang", "ru"), 0)
        assert "Консенсус: PBFT, валидаторов: 1 (выдерживает неисправных: 0); представление " \
               "(view) 0, основной узел (primary): Ministry of Science, фаза: " in said


def _approve(node: KazNU, action: str, effective: int) -> None:
    council = node.council
    propose = make_tx(council.ministry, ProposePayload(
        MemberAction(action, council.university.member_id), effective, effective - 2))
    commit(node.core.chain, [propose])
    commit(node.core.chain, [make_tx(council.ministry2, VotePayload(propose.tx_id))])


async def test_status_speaks_kk_and_ru(kaznu: KazNU) -> None:
    node = ("--node", kaznu.url)
    english = (await senim("status", *node, "--lang", "en")).output
    assert "consensus follower (not a validator)" in english
    assert "no quorum: 0 of 4 validators reachable" in english
    said = said_in("kk", await senim("status", *node, "--lang", "kk"), 0)
    assert "Түйін: kaznu-1 (KazNU), мекенжайы: " in said
    assert "Консенсус: тізбекке ілесу (follower); бұл түйін валидатор емес" in said
    assert "Кворум жоқ: 4 валидатордың тек 0-і қолжетімді" in said
    said = said_in("ru", await senim("status", *node, env={"LANG": "ru_RU.UTF-8"}), 0)
    assert "Валидаторы: с этого узла доступны 0 из 4; недоступны: " in said
    assert "Правила: версия " in said and "Соединения с узлами (peers): 1" in said
    assert "валидатор подтверждён     исходящее 127.0.0.1:9001 подключён 12.5 с" in said

    _approve(kaznu, ACTION_ADD_VALIDATOR, 8)
    english = (await senim("status", *node, "--lang", "en")).output
    assert "scheduled KazNU joins the validators at height 8, in 6 block(s); keep this " \
           "node running then" in english
    said = said_in("kk", await senim("status", *node, "--lang", "kk"), 0)
    assert ("Жоспарланған: KazNU 8-блоктан бастап валидаторлар қатарына қосылады (6 блоктан "
            "кейін); сол кезде бұл түйін жұмыс істеп тұруы керек") in said
    said = said_in("ru", await senim("status", *node, "--lang", "ru"), 0)
    assert "Запланировано: KazNU войдёт в число валидаторов с блока 8 (осталось блоков: 6)" \
        in said

    while kaznu.core.chain.height < 8:
        commit(kaznu.core.chain, [])
    _approve(kaznu, ACTION_REMOVE_VALIDATOR, 16)
    said = said_in("kk", await senim("status", *node, "--lang", "kk"), 0)
    assert "Жоспарланған: KazNU 16-блоктан бастап валидаторлар қатарынан шығады (6 блоктан " \
           "кейін)" in said
    while kaznu.core.chain.height < 16:
        commit(kaznu.core.chain, [])
    _approve(kaznu, ACTION_RETIRE_MEMBER, 24)
    english = (await senim("status", *node, "--lang", "en")).output
    assert "retired   KazNU retires from the consortium at block 24, in 6 block(s): from " \
           "block 23 on, the other nodes no longer connect to this one" in english
    said = said_in("ru", await senim("status", *node, "--lang", "ru"), 0)
    assert "Выход из консорциума: KazNU выбывает из консорциума с блока 24 (осталось " \
           "блоков: 6): начиная с блока 23 другие узлы больше не подключаются" in said
    said = said_in("kk", await senim("status", *node, "--lang", "kk"), 0)
    assert "Шығарылады: KazNU 24-блоктан бастап консорциумнан шығады (6 блоктан кейін)" in said

    answers = {lang: await senim("status", *node, "--json", "--lang", lang)
               for lang in ("en", *LANGS)}
    assert len({json.dumps(json.loads(a.output), sort_keys=True) for a in answers.values()
                if a.exit_code == 0}) == 1, answers
    down = await refused_in_every_language("status", "--node", DOWN, code=3)
    assert "по этому адресу никто не отвечает" in down["ru"]
    await refused_in_every_language("status", "--nod", kaznu.url, code=2)


@pytest.fixture
def node_folder(tmp_path: Path) -> Iterator[Path]:
    """A stopped node's folder: its config (node.toml), key, genesis, and a real store
    of two dozen blocks."""
    net = make_consortium()
    save_key(tmp_path / "node.key", net.ministry)
    (tmp_path / "genesis.json").write_text(json.dumps(net.genesis.to_json()), "utf-8")
    (tmp_path / "node.toml").write_text(render_config(
        "ministry-1", "node.key", "genesis.json", "data", "127.0.0.1:0", "127.0.0.1:0", []))
    (tmp_path / "data").mkdir()
    build_store(tmp_path / "data" / "chain.ldb", net)
    yield tmp_path / "node.toml"


def fsck(config: Path, lang: str) -> Result:
    return CliRunner().invoke(main, ["fsck", "--config", str(config), "--lang", lang],
                              prog_name="senim")


def fsck_in_every_language(config: Path, code: int) -> dict[str, str]:
    """`senim fsck` in English, then in Kazakh and Russian: English's exit code, and no
    English sentence in either."""
    assert fsck(config, "en").exit_code == code
    return {lang: said_in(lang, fsck(config, lang), code) for lang in LANGS}


def test_fsck_of_a_sound_and_then_a_damaged_store_speaks_kk_and_ru(node_folder: Path) -> None:
    store = node_folder.parent / "data" / "chain.ldb"
    sound = fsck_in_every_language(node_folder, 0)
    assert f"{store} тексерілді: 24 блок, 83 транзакция, күйдің 98 жазбасы: ешқандай ақау " \
           "табылмады" in sound["kk"]
    kv = LevelDBStore(str(store))  # block 5 another's, and block 6 another's certificate
    kv.write({b"B" + (5).to_bytes(8, "big"): kv.get(b"B" + (4).to_bytes(8, "big")),
              b"C" + (6).to_bytes(8, "big"): kv.get(b"C" + (7).to_bytes(8, "big"))})
    kv.close()
    english = fsck(node_folder, "en").output
    assert "damaged: block 6: its certificate is missing or does not verify" in english
    assert ": 3 problems" in english
    damaged = fsck_in_every_language(node_folder, 1)
    assert "повреждено: блок 6: его сертификат отсутствует или не проходит проверку" \
        in damaged["ru"]
    assert "записей состояния — 98: найдено проблем — 3" in damaged["ru"]
    assert f"`senim node --config {node_folder} --resync` переместит {store} в сторону" \
        in damaged["ru"]
    assert "бүлінген: 5-блок: оның тақырыбы осы тізбектің 5-блогынікі емес" in damaged["kk"]
    assert "қалпына келтіру: түйін тоқтап тұрғанда `senim node --config" in damaged["kk"]

    for table in sorted(store.glob("*.ldb")):  # and bits flipped in each table file
        data = bytearray(table.read_bytes())
        data[200:216] = bytes(byte ^ 0xFF for byte in data[200:216])
        table.write_bytes(bytes(data))
    assert "block checksum mismatch" in fsck(node_folder, "en").output
    flipped = fsck_in_every_language(node_folder, 1)
    assert flipped["ru"].startswith("повреждено: хранилище не открывается: у блока LevelDB не "
                                    "сходится контрольная сумма\nвосстановление: ")
    assert flipped["kk"].startswith("бүлінген: қойма ашылмайды: LevelDB блогының бақылау "
                                    "сомасы сәйкес келмейді\n")


def test_fsck_reads_the_signed_mark_beside_the_store(node_folder: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """The node reads SENIM-SIGNED at start and stops on a damaged one; fsck said sound."""
    mark = node_folder.parent / "data" / "SENIM-SIGNED"
    # a header whose length is past its slot: 4 GiB, which the node no longer reads
    mark.write_bytes(b"SSM2" + bytes(32) + (1).to_bytes(8, "big") + b"\xff" * 4 + bytes(4))
    english = fsck(node_folder, "en")
    assert english.exit_code == 1, english.output
    assert f"damaged: {mark}, what this validator last signed, is damaged" in english.output
    said = fsck_in_every_language(node_folder, 1)
    assert "запись о том, что этот валидатор подписал последним" in said["ru"]
    # the store is sound: --resync, the store's way out, would set aside the one record
    # left of what this validator signed; deleting the mark after it, to sign twice
    assert "--resync first" in english.output and "--resync`" not in english.output
    assert "не запускайте сначала --resync" in said["ru"]
    config = load_config(node_folder)
    with pytest.raises(SignedMarkDamaged, match="--resync refused, nothing moved"):
        resync_as_fresh(config)
    assert (node_folder.parent / "data" / "chain.ldb").is_dir()  # left in place
    assert [p.name for p in (node_folder.parent / "data").iterdir()
            if p.name.startswith("chain.ldb")] == ["chain.ldb"]
    with caplog.at_level(logging.ERROR, logger="senim"):  # the node's last line
        assert store_failed("cannot start", SignedMarkDamaged(f"{mark} is damaged"),
                            config) == EXIT_DAMAGED
    assert f"cannot start: {mark} is damaged" in caplog.text
    assert "chain database" not in caplog.text  # it is beside the store, not in it


def test_fsck_refusals_speak_kk_and_ru(node_folder: Path) -> None:
    store = node_folder.parent / "data" / "chain.ldb"
    with store_held_by_another_process(store) as pid:
        assert f"is in use by process {pid} (" in fsck(node_folder, "en").output
        held = {lang: fsck(node_folder, lang) for lang in LANGS}
    for result in held.values():  # the holder's command line as the kernel gives it
        assert result.exit_code == 2, result.output
        assert not english_in(re.sub(r"\(-c .*\)", "", result.output)), result.output
    assert held["ru"].output.startswith(f"{PREFIX['ru']}{store} занято: его использует "
                                        f"процесс {pid} (-c ")
    assert held["kk"].output.startswith(f"{PREFIX['kk']}{store} қоймасын {pid} процесі (-c ")
    assert held["kk"].output.endswith(") пайдаланып жатыр: алдымен оны тоқтатыңыз\n")

    text = node_folder.read_text()
    node_folder.write_text(text + "\n[storage]\nblock_cash_mb = 8\n")
    config = fsck_in_every_language(node_folder, 2)
    assert f"файл настроек {node_folder} не подходит: storage.block_cash_mb: неизвестный " \
           "ключ; может быть, 'block_cache_mb'? (в [storage] есть: " in config["ru"]
    node_folder.write_text(text.replace('data_dir = "data"', 'data_dir = "elsewhere"'))
    missing = fsck_in_every_language(node_folder, 2)
    assert "тізбек дерекқоры жоқ" in missing["kk"]
    folder = CliRunner().invoke(main, ["fsck", "--config", str(node_folder.parent)],
                                env={"LANG": "kk_KZ.UTF-8"})
    assert said_in("kk", folder, 2).startswith(f"қате: {node_folder.parent} — қалта: "
                                               "түйіннің баптау файлының өзін көрсетіңіз")


@pytest.mark.parametrize("lang", LANGS)
def test_tls_cert_speaks_kk_and_ru(tmp_path: Path, lang: str) -> None:
    cert, key = tmp_path / "node.crt", tmp_path / "node.key"
    made = said_in(lang, CliRunner().invoke(main, ["tls-cert", "--cert", str(cert), "--key",
                                                   str(key), "--lang", lang]), 0)
    assert {"kk": f"{cert} және {key} (0600) жазылды, атаулары: 127.0.0.1, localhost;",
            "ru": f"записаны {cert} и {key} (0600) для 127.0.0.1, localhost;"}[lang] in made
    for refused in ([str(cert), str(key)],  # there already
                    [str(tmp_path / "x.crt"), str(cert / "x.key")],  # under a file
                    [str(tmp_path / "y.crt"), str(tmp_path / "y.key"), "--host", ""]):
        args = ["tls-cert", "--cert", refused[0], "--key", *refused[1:]]
        english = CliRunner().invoke(main, [*args, "--lang", "en"])
        assert english.exit_code == 2 and "Traceback" not in english.output, english.output
        said = said_in(lang, CliRunner().invoke(main, [*args, "--lang", lang]), 2)
        assert said.startswith(PREFIX[lang]) and len(said.splitlines()) == 1, said
    assert not (tmp_path / "y.key").exists() and not (tmp_path / "x.crt").exists()


@pytest.mark.parametrize("host", ["node1, node2", "a b", "two\nlines", "tab\there"])
def test_tls_cert_refuses_a_host_with_a_space_or_a_line_in_it(tmp_path: Path,
                                                               host: str) -> None:
    """'--host "node1, node2"' wrote a certificate for the one DNS name 'node1, node2',
    which no client matches, and said it wrote it (the line broken where the name was)."""
    cert, key = tmp_path / "node.crt", tmp_path / "node.key"
    result = CliRunner().invoke(main, ["tls-cert", "--cert", str(cert), "--key", str(key),
                                       "--host", host, "--lang", "en"])
    assert result.exit_code == 2, result.output
    assert "is no name or IP address a certificate can hold" in result.output
    assert not cert.exists() and not key.exists()

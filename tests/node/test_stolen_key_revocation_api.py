"""`GET /v1/batches/…/credentials/{target}` of a credential revoked with a key declared
stolen since says the revocation is in doubt, and from when the key is distrusted. It
said "revoked" with no flag, while `/v1/verify` of the same credential says neither
revoked nor valid."""

from __future__ import annotations

from typing import Any, cast

from ledger.key_events import key_history_key
from node.service import NodeCore
from storage.kv import MemoryStore
from storage.state_tree import StateTree
from tests.node.api_server import api_core, serving
from tests.node.conftest import Consortium, accredit, commit, make_consortium
from tests.node.test_stolen_key_records import revoked_by_a_thief, rotate_and_report


def thief_revocation(core: NodeCore, net: Consortium) -> tuple[dict[str, Any], str, int]:
    """KazNU accredited, a diploma of it revoked with a copy of its key: the diploma, its
    path under /v1/batches, and the theft's height."""
    university = net.university
    commit(core.chain, [accredit(net, university, ["diploma"])])
    document, ref, stolen_at = revoked_by_a_thief(core.chain, university)
    return document, (f"/v1/batches/{university.member_id.hex()}/{ref.batch_root.hex()}"
                      f"/credentials/{ref.target_hash.hex()}"), stolen_at


async def test_a_revocation_made_with_a_stolen_key_is_said_to_be_in_doubt() -> None:
    net = make_consortium()
    core = api_core(net.ministry, net.genesis, MemoryStore())
    document, path, stolen_at = thief_revocation(core, net)
    async with serving(core) as client:
        before = await (await client.get(path)).json()
        assert before["revoked"] is True and before["revocation_doubted"] is False, before
        assert before["key_distrusted_from"] is None

        rotate_and_report(core.chain, net.university, stolen_at)
        answer = await client.get(path)
        after = await answer.json()
        assert answer.status == 200
        assert (after["revoked"], after["revocation_doubted"]) == (True, True), after
        assert after["key_distrusted_from"] == stolen_at
        assert after["revoked_at_height"] == stolen_at
        verdict = await (await client.post("/v1/verify", json=document)).json()
        assert verdict["status"] == "revocation_doubted", verdict


class DamagedState:
    """The chain's state answering `damaged` for some keys, as a damaged store would."""

    def __init__(self, state: Any, damaged: dict[bytes, bytes | None]) -> None:
        self._state, self._damaged = state, damaged

    def get(self, key: bytes) -> bytes | None:
        return self._damaged[key] if key in self._damaged else self._state.get(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)


async def test_a_revokers_damaged_key_history_is_the_stores_damage() -> None:
    """503 store_damaged and a log line, as for any damage found while answering; it was
    400 "malformed", which tells the client its own request was wrong."""
    net = make_consortium()
    core = api_core(net.ministry, net.genesis, MemoryStore())
    _document, path, stolen_at = thief_revocation(core, net)
    rotate_and_report(core.chain, net.university, stolen_at)
    real = core.chain.state
    for damage in (b"\xc1", None, b"\x90"):  # not msgpack, gone, an empty history
        core.chain.state = cast(StateTree, DamagedState(
            real, {key_history_key(net.university.member_id): damage}))
        try:
            async with serving(core) as client:
                answer = await client.get(path)
                body = await answer.json()
        finally:
            core.chain.state = real
        assert (answer.status, body["error"]["code"]) == (503, "store_damaged"), body

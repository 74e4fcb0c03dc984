"""Done-when for VCs, end to end: a diploma issued on a real node process, exported
with `senim export-vc`, verifies in `senim verify` and in the node's VC-API; after
`senim revoke` both refuse it and the node's status list shows its bit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.vc.status import bit_is_set, decode_list
from tests.e2e.harness import Consortium, Member, NodeProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
           Member("enu", "L.N. Gumilyov Eurasian National University", "university")]


def two_diplomas_issued(net: Consortium, root: Path) -> NodeProcess:
    """MEMBERS' ministry's node started, ENU accredited for diplomas and two of them
    issued into `root / "issued"`."""
    node = net.start("mshe")
    net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
            net.member_id("enu"), "--types", "diploma", node=node)
    (root / "graduates.csv").write_text(
        "full_name,iin,programme,qualification,graduation_date\n"
        "Aigerim Abenova,010517612342,Computer Science,Bachelor,2026-06-30\n"
        "Nurlan Seitkali,020211512344,Mathematics,Bachelor,2026-06-30\n", encoding="utf-8")
    net.cli("issue", "--key", str(net.key_path("enu")), "--type", "diploma", "--input",
            str(root / "graduates.csv"), "--out", str(root / "issued"), node=node)
    return node


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Consortium, NodeProcess,
                                                                       Path]]:
    root = tmp_path_factory.mktemp("vc-e2e")
    with Consortium(root, MEMBERS) as net:
        yield net, two_diplomas_issued(net, root), root


def test_exported_diploma_verifies_until_revoked(
        world: tuple[Consortium, NodeProcess, Path]) -> None:
    net, node, root = world
    diploma = sorted((root / "issued").rglob("diploma-*.json"))[0]
    vc_path = root / "diploma.vc.json"
    net.cli("export-vc", str(diploma), "--key", str(net.key_path("enu")), "--out",
            str(vc_path), node=node)
    vc = json.loads(vc_path.read_text())
    verified = net.cli("verify", str(vc_path), node=node)
    assert verified.stdout.startswith("VALID"), verified.stdout
    status, answer = node.post_json("/credentials/verify", {"verifiableCredential": vc})
    assert status == 200 and answer["verified"], answer
    assert {"signature", "status", "on_chain", "accredited", "member"} <= set(answer["checks"])

    net.cli("revoke", "--key", str(net.key_path("enu")), str(diploma), "--reason",
            "issued_in_error", node=node)
    refused = net.cli("verify", str(vc_path), node=node, check=False)
    assert refused.returncode == 1 and "REVOKED" in refused.stdout, refused.stdout
    status, answer = node.post_json("/credentials/verify", {"verifiableCredential": vc})
    assert status == 400 and answer["errors"][0]["title"] == "revoked", answer
    listed = node.get_json("/credentials/status/" + net.member_id("enu")
                           + vc["senim"]["batch"]["root"])
    bits = decode_list(listed["credentialSubject"]["encodedList"])
    assert bit_is_set(bits, vc["senim"]["batch"]["index"])
    assert "Traceback" not in node.log_text()

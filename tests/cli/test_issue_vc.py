"""`senim issue --format vc`: each issued credential also as a W3C VC 2.0 beside the
native files, verifiable by `senim verify` and the node's VC-API."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.issuer_registry import pointer_path
from tests.e2e.harness import Consortium, Member, NodeProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
MEMBERS = [Member("mshe", "Ministry of Science", "ministry", validator=True, runs_node=True),
           Member("kbtu", "Kazakh-British Technical University", "university")]
GRADUATES = ("full_name,iin,programme,qualification,graduation_date\n"
             "Aigerim Abenova,010517612342,Computer Science,Bachelor,2026-06-30\n"
             "Nurlan Seitkali,020211512344,Mathematics,Bachelor,2026-06-30\n")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Consortium, NodeProcess,
                                                                       Path]]:
    root = tmp_path_factory.mktemp("issue-vc")
    with Consortium(root, MEMBERS) as net:
        node = net.start("mshe")
        net.cli("accredit", "--key", str(net.key_path("mshe")), "--issuer",
                net.member_id("kbtu"), "--types", "diploma", node=node)
        (root / "graduates.csv").write_text(GRADUATES, encoding="utf-8")
        yield net, node, root


def test_issue_format_vc_writes_a_verifiable_vc_beside_each_document(
        world: tuple[Consortium, NodeProcess, Path]) -> None:
    net, node, root = world
    out = root / "issued"
    issued = net.cli("issue", "--key", str(net.key_path("kbtu")), "--type", "diploma",
                     "--input", str(root / "graduates.csv"), "--out", str(out),
                     "--format", "vc", node=node)
    assert "W3C VC 2.0 copies" in issued.stdout, issued.stdout
    # the node is on loopback, so are the status lists the copies name: said, not exit 1
    assert "which only this machine can reach" in issued.stderr, issued.stderr
    natives = sorted((out / "credentials").rglob("diploma-*.json"))
    vcs = sorted((out / "vc").rglob("*.vc.json"))
    assert len(natives) == len(vcs) == 2
    for native, vc_path in zip(natives, vcs, strict=True):
        assert vc_path.name == native.stem + ".vc.json"
        assert stat.S_IMODE(vc_path.stat().st_mode) == 0o600
        vc = json.loads(vc_path.read_text(encoding="utf-8"))
        name = json.loads(native.read_text(encoding="utf-8"))["fields"]["full_name"]["value"]
        assert vc["credentialSubject"]["fields"]["full_name"] == name
        assert vc["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
        verified = net.cli("verify", str(vc_path), node=node)
        assert verified.stdout.startswith("VALID"), verified.stdout
        status, answer = node.post_json("/credentials/verify", {"verifiableCredential": vc})
        assert status == 200 and answer["verified"], answer
    # a job issued natively gets its VCs later from --resume ... --format vc (the same
    # class again, so from a working area of its own: the first one's registry refuses it;
    # a second registry for the issuer is started on purpose by removing the file beside
    # the key that names the first)
    pointer_path(net.key_path("kbtu"), net.member_id("kbtu")).unlink()
    plain = root / "plain"
    net.cli("issue", "--key", str(net.key_path("kbtu")), "--type", "diploma", "--input",
            str(root / "graduates.csv"), "--out", str(plain), "--registry",
            str(root / "other-area.db"), node=node)
    assert not (plain / "vc").exists()
    resumed = net.cli("issue", "--resume", str(plain), "--format", "vc", node=node)
    assert "W3C VC 2.0 copies" in resumed.stdout, resumed.stdout
    assert len(list((plain / "vc").rglob("*.vc.json"))) == 2


def test_format_is_checked_before_anything_is_sent(
        world: tuple[Consortium, NodeProcess, Path]) -> None:
    net, node, root = world
    refused = net.cli("issue", "--key", str(net.key_path("kbtu")), "--type", "diploma",
                      "--input", str(root / "graduates.csv"), "--out", str(root / "never"),
                      "--format", "pdf", node=node, check=False)
    assert refused.returncode == 2 and "pdf" in refused.stderr
    assert not (root / "never").exists()

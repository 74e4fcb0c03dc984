"""docs/forming-a-consortium.md, step by step: four operators, each in a folder of its
own standing for its machine, form a consortium through public keys and a members
file alone, check they hold the same genesis, start their nodes and commit.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.harness import HOST, NodeProcess, free_port, senim_executable, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

OPERATORS = [("mshe", "Ministry of Science and Higher Education", "ministry"),
             ("moe", "Ministry of Enlightenment", "ministry"),
             ("enu", "L.N. Gumilyov Eurasian National University", "university"),
             ("kaznu", "Al-Farabi Kazakh National University", "university")]
COMMIT_WAIT_S = 60.0


@dataclass
class Operator:
    slug: str
    name: str
    role: str
    machine: Path
    public_key: str = ""
    member_id: str = ""
    api_port: int = 0
    p2p_port: int = 0
    node: NodeProcess | None = None


def senim(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([senim_executable(), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=90, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, NO_COLOR="1", PYTHONUTF8="1"))
    assert not check or done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def fingerprint_of(output: str) -> str:
    found = re.search(r"((?:[0-9a-f]{4} ){7}[0-9a-f]{4})", output)
    assert found, output
    return found.group(1)


@pytest.fixture
def operators(tmp_path: Path) -> Iterator[list[Operator]]:
    team = [Operator(slug, name, role, tmp_path / slug) for slug, name, role in OPERATORS]
    yield team
    for operator in team:
        if operator.node is not None:
            operator.node.kill()


def test_operators_form_a_consortium_from_public_keys_and_one_members_file(
        operators: list[Operator], tmp_path: Path) -> None:
    # 1. Every operator makes a key on their own machine; only the public key leaves it.
    for op in operators:
        (op.machine / "keys").mkdir(parents=True)
        made = senim(op.machine, "keygen", "keys/node.key", "--label", op.name)
        key = re.search(r"public key:\s*([0-9a-f]{64})", made.stdout)
        member = re.search(r"member id:\s*([0-9a-f]{40})", made.stdout)
        assert key and member, made.stdout
        op.public_key, op.member_id = key.group(1), member.group(1)
        assert (op.machine / "keys" / "node.key").stat().st_mode & 0o777 == 0o600

    # 2. The coordinator (the first ministry) writes the members file and the genesis.
    lines = ['chain_id = "senim-formed"', 'genesis_time = "2026-09-01T00:00:00Z"', ""]
    for op in operators:
        lines += ["[[members]]", f"name = {json.dumps(op.name)}", f'role = "{op.role}"',
                  f'public_key = "{op.public_key}"', "validator = true", ""]
    coordinator = operators[0].machine
    (coordinator / "members.toml").write_text("\n".join(lines))
    created = senim(coordinator, "consortium", "create", "--members", "members.toml",
                    "--out", "genesis.json")
    announced = fingerprint_of(created.stdout)

    # 3. Each operator receives both files, rebuilds the genesis and compares.
    for op in operators[1:]:
        for name in ("members.toml", "genesis.json"):
            (op.machine / name).write_bytes((coordinator / name).read_bytes())
    for op in operators:
        rebuilt = senim(op.machine, "consortium", "create", "--members", "members.toml",
                        "--out", "my-genesis.json")
        received = senim(op.machine, "consortium", "fingerprint", "genesis.json")
        assert fingerprint_of(rebuilt.stdout) == fingerprint_of(received.stdout) == announced
        listed = {m["public_key"]: (m["name"], m["role"]) for m in
                  json.loads((op.machine / "genesis.json").read_text())["members"]}
        assert listed[op.public_key] == (op.name, op.role)
    # A genesis altered on the way shows another fingerprint.
    altered = json.loads((coordinator / "genesis.json").read_text())
    altered["members"][3]["validator"] = False
    (tmp_path / "altered.json").write_text(json.dumps(altered))
    assert fingerprint_of(senim(tmp_path, "consortium", "fingerprint",
                                "altered.json").stdout) != announced

    # 4. Every operator writes a node config naming the others' P2P addresses, and starts.
    for op in operators:
        op.api_port, op.p2p_port = free_port(), free_port()
    for op in operators:
        peers = ", ".join(f'"{HOST}:{o.p2p_port}"' for o in operators if o is not op)
        config = op.machine / "node.toml"
        config.write_text(
            f'[node]\nname = "{op.slug}"\nkey = "keys/node.key"\ngenesis = "genesis.json"\n'
            f'data_dir = "data"\n[api]\nlisten = "{HOST}:{op.api_port}"\n'
            f'[p2p]\nlisten = "{HOST}:{op.p2p_port}"\npeers = [{peers}]\n')
        op.node = NodeProcess(op.slug, config, op.machine / "data", op.machine / "node.log",
                              op.api_port, op.p2p_port)
        op.node.spawn()
    for op in operators:
        assert op.node is not None
        op.node.wait_ready()

    # The first transaction, the ministry's first accreditation, commits on every node.
    ministry, university = operators[0], operators[2]
    assert ministry.node is not None
    ministry_url = ministry.node.url
    wait_until(lambda: "no quorum" not in senim(ministry.machine, "status", "--node",
                                                  ministry_url).stdout,
               COMMIT_WAIT_S, "the ministry's node to reach a quorum of validators")
    accredit = senim(ministry.machine, "accredit", "--key", "keys/node.key", "--issuer",
                     university.member_id, "--types", "diploma", "--node", ministry_url)
    assert "committed" in accredit.stdout.lower(), accredit.stdout
    for op in operators:
        node = op.node
        assert node is not None
        node.wait_height(1, timeout_s=COMMIT_WAIT_S)

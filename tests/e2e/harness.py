"""Lay out a Senim consortium in a folder and run REAL `senim node` processes on it.

Reusable by single- and multi-validator tests:

    members = [Member("mshe", "Ministry", "ministry", validator=True, runs_node=True),
               Member("enu", "ENU", "university")]
    with Consortium(tmp_path, members) as net:
        node = net.start("mshe")             # waits for GET /v1/status, with a deadline
        net.cli("status", node=node)         # `senim ...` as a subprocess
        node.kill()                          # SIGKILL; node.start() again on the same data
    # leaving the block (or net.close()) kills every process it started

Everything listens on 127.0.0.1 ports picked free by the OS. Every wait polls a
condition with a deadline; nothing sleeps and hopes.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.genesis import Genesis
from ledger.identity import KeyPair
from node.config import render_config
from node.files import load_genesis, load_key, save_key
from tests.e2e.processes import (
    HOST,
    READY_TIMEOUT_S,
    STOP_TIMEOUT_S,
    HttpError,
    NodeExited,
    NodeProcess,
    free_port,
    host_port,
    http,
    senim_executable,
    wait_until,
)

# The tests import the process side from here too, with the consortium.
__all__ = ["HOST", "Consortium", "HttpError", "Member", "NodeExited", "NodeProcess",
           "free_port", "http", "senim_executable", "wait_until"]

CLI_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Member:
    """One consortium member: `slug` names its files; `runs_node` gives it a node process."""

    slug: str
    name: str
    role: str
    validator: bool = False
    runs_node: bool = False



class Consortium:
    """A consortium laid out in `root`: keys/, members.toml, genesis.json, <slug>.toml.

    `keygen_via_cli` / `genesis_via_cli` run `senim keygen` / `senim consortium create`
    as subprocesses (as an operator would); otherwise the same files are written
    in-process, which is faster. Only members with `runs_node` get a config,
    a data dir and a NodeProcess; every member gets a key and a genesis entry.
    """

    def __init__(self, root: Path, members: Sequence[Member], *, chain_id: str = "senim-e2e",
                 view_timeout_ms: int = 1000, host: str = HOST,
                 keygen_via_cli: bool = False, genesis_via_cli: bool = True) -> None:
        slugs = [m.slug for m in members]
        if len(set(slugs)) != len(slugs):
            raise ValueError("member slugs must be unique")
        if not any(m.validator for m in members):
            raise ValueError("at least one member must be a validator")
        self.root = root
        self.members = {m.slug: m for m in members}
        self.chain_id = chain_id
        self.view_timeout_ms = view_timeout_ms
        self.host = host  # every node listens there (an IPv6 address, e.g. ::1, too)
        self.nodes: dict[str, NodeProcess] = {}
        self._keys: dict[str, KeyPair] = {}
        self._lay_out(keygen_via_cli, genesis_via_cli)

    # ---- layout ------------------------------------------------------------------------
    def key_path(self, slug: str) -> Path:
        return self.root / "keys" / f"{slug}.key"

    def keys(self, slug: str) -> KeyPair:
        if slug not in self._keys:
            self._keys[slug] = load_key(self.key_path(slug))
        return self._keys[slug]

    def member_id(self, slug: str) -> str:
        return self.keys(slug).member_id.hex()

    @property
    def genesis_path(self) -> Path:
        return self.root / "genesis.json"

    def genesis(self) -> Genesis:
        return load_genesis(self.genesis_path)

    def _lay_out(self, keygen_via_cli: bool, genesis_via_cli: bool) -> None:
        (self.root / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.root / "logs").mkdir(exist_ok=True)
        ports = {slug: (free_port(self.host), free_port(self.host)) for slug in self.members}
        for slug, member in self.members.items():
            if self.key_path(slug).exists():
                continue
            if keygen_via_cli:
                self.cli("keygen", str(self.key_path(slug)), "--label", member.name)
            else:
                save_key(self.key_path(slug), KeyPair.generate(), member.name)
        # A fixed time a little in the past: the same members file gives the same genesis.
        genesis_time = time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(time.time() - 3600))
        lines = [f"chain_id = {json.dumps(self.chain_id)}",
                 f"genesis_time = {json.dumps(genesis_time)}", ""]
        for slug, member in self.members.items():
            api_port, p2p_port = ports[slug]
            lines += ["[[members]]", f"name = {json.dumps(member.name)}",
                      f"role = {json.dumps(member.role)}",
                      f'key = "keys/{slug}.key"',
                      f"validator = {json.dumps(member.validator)}", ""]
        (self.root / "members.toml").write_text("\n".join(lines))
        if genesis_via_cli:
            few = sum(m.validator for m in self.members.values()) < 4
            self.cli("consortium", "create", "--members", str(self.root / "members.toml"),
                     "--out", str(self.genesis_path), "--force",
                     *(["--allow-no-fault-tolerance"] if few else []))
        else:
            self._write_genesis_in_process()
        runners = [slug for slug, m in self.members.items() if m.runs_node]
        for slug in runners:
            api_port, p2p_port = ports[slug]
            peers = [host_port(self.host, ports[other][1]) for other in runners
                     if other != slug]
            config = self.root / f"{slug}.toml"
            self.nodes[slug] = NodeProcess(
                slug=slug, config_path=config, data_dir=self.root / "data" / slug,
                log_path=self.root / "logs" / f"{slug}.log", api_port=api_port,
                p2p_port=p2p_port, host=self.host)
            self.write_config(slug, peers)

    def _write_genesis_in_process(self) -> None:
        import tomllib

        from ledger.genesis import GENESIS_KIND, current_rules_genesis, genesis_from_json

        description = tomllib.loads((self.root / "members.toml").read_text())
        members = []
        for entry in description["members"]:
            entry = dict(entry)
            entry["public_key"] = load_key(self.root / entry.pop("key")).public_key.hex()
            members.append(entry)
        when = datetime.datetime.fromisoformat(description["genesis_time"].replace("Z", "+00:00"))
        stated = genesis_from_json({"kind": GENESIS_KIND, "chain_id": self.chain_id,
                                    "genesis_time_ms": int(when.timestamp() * 1000),
                                    "members": members})
        # The rules `senim consortium create` writes by default, as the CLI path has.
        genesis = current_rules_genesis(stated.chain_id, stated.genesis_time_ms, stated.members)
        self.genesis_path.write_text(json.dumps(genesis.to_json(), indent=2) + "\n")

    def write_config(self, slug: str, peers: Sequence[str] | None = None,
                     genesis: str = "genesis.json") -> Path:
        node = self.nodes[slug]
        if peers is None:
            peers = [host_port(n.host, n.p2p_port) for s, n in self.nodes.items()
                     if s != slug]
        node.config_path.write_text(render_config(
            slug, f"keys/{slug}.key", genesis, f"data/{slug}", host_port(node.host, node.api_port),
            host_port(node.host, node.p2p_port), list(peers),
            overrides={"consensus": {"view_timeout_ms": self.view_timeout_ms}}))
        return node.config_path

    # ---- nodes -------------------------------------------------------------------------
    def node(self, slug: str) -> NodeProcess:
        return self.nodes[slug]

    def start(self, slug: str, timeout_s: float = READY_TIMEOUT_S,
              port_retries: int = 3) -> NodeProcess:
        """Start one node and wait until it answers.

        Ports are picked free but unreserved, so another process may take one
        first: if the node says it cannot listen, it gets new ports (its config and
        the other configs' peer lists are rewritten; running peers keep the old
        address until restarted) and is started again, at most `port_retries` times.
        """
        node = self.nodes[slug]
        for attempt in range(port_retries + 1):
            log_size = len(node.log_text())
            try:
                return node.start(timeout_s)
            except NodeExited:
                lost_port = "cannot listen" in node.log_text()[log_size:]
                if attempt == port_retries or not lost_port:
                    raise
            node.api_port, node.p2p_port = free_port(node.host), free_port(node.host)
            for other in self.nodes:
                self.write_config(other)
        raise AssertionError("unreachable")

    def start_all(self, timeout_s: float = READY_TIMEOUT_S) -> list[NodeProcess]:
        """Spawn every node that is not running, then wait for each to answer."""
        spawned = [node for node in self.nodes.values() if not node.running()]
        for node in spawned:
            node.spawn()
        for node in spawned:
            try:
                node.wait_ready(timeout_s)
            except NodeExited:
                if "cannot listen" not in node.log_text():
                    raise
                self.start(node.slug, timeout_s)  # again, on new ports
        return list(self.nodes.values())

    def stop_all(self, timeout_s: float = STOP_TIMEOUT_S) -> dict[str, int]:
        codes: dict[str, int] = {}
        for node in self.nodes.values():
            node.send_signal(signal.SIGTERM)
        for slug, node in self.nodes.items():
            if node.process is None:
                continue
            try:
                codes[slug] = node.wait_exit(timeout_s)
            except subprocess.TimeoutExpired:
                node.kill()
                codes[slug] = -signal.SIGKILL
        return codes

    def close(self) -> None:
        """Kill every process this consortium started. Safe to call twice."""
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.kill()

    def __enter__(self) -> Consortium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- CLI ---------------------------------------------------------------------------
    def cli(self, *args: str, node: NodeProcess | str | None = None, check: bool = True,
            timeout_s: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        """Run `senim ARGS` in `root` (SENIM_NODE points at `node`); text output."""
        env = dict(os.environ, NO_COLOR="1", PYTHONUTF8="1")
        if node is not None:
            env["SENIM_NODE"] = node.url if isinstance(node, NodeProcess) else node
        done = subprocess.run([senim_executable(), *args], cwd=self.root, env=env,
                              capture_output=True, text=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise AssertionError(f"senim {' '.join(args)} exited {done.returncode}\n"
                                 f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")
        return done

    def anchor_document(self, node: NodeProcess, path: Path, *, signer: str) -> int:
        """Write a small document to `path` and `senim anchor` it as `signer` through
        `node`; the height it was committed at."""
        path.write_text(f"document {path.name}")
        done = self.cli("anchor", "--key", str(self.key_path(signer)), str(path), node=node)
        return int(done.stdout.split("committed at height ")[1].split()[0])

    def verified_through(self, node: NodeProcess, path: Path) -> str:
        """`senim verify --genesis` of `path` against `node`, which must find it valid;
        the verdict's source (what the verifier believed it on)."""
        done = self.cli("verify", str(path), "--genesis", str(self.genesis_path), "--json",
                        node=node)
        verdict = json.loads(done.stdout)
        assert verdict["valid"], verdict
        source: str = verdict["source"]
        return source

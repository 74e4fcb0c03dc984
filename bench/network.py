"""Lay out and run a throw-away local consortium of real node processes for benchmarks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.genesis import GenesisMember, current_rules_genesis
from ledger.identity import KeyPair
from node.config import ConfigValue, render_config
from node.files import save_key

# Not handed out twice: two asked in a row were once the same port (a node's API and
# P2P port, and the node refused to start).
from tests.e2e.processes import free_port


@dataclass
class BenchMember:
    slug: str
    name: str
    role: str
    validator: bool
    runs_node: bool
    keys: KeyPair = field(default_factory=KeyPair.generate)
    api_port: int = field(default_factory=free_port)
    p2p_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"


class BenchNetwork:
    def __init__(self, root: Path, validators: int,
                 overrides: dict[str, dict[str, ConfigValue]] | None = None,
                 pinned: bool = False) -> None:
        self.root = root
        self.members = [BenchMember(f"v{i}", f"Ministry {i}", "ministry", True, True)
                        for i in range(validators)]
        self.university = BenchMember("uni", "Bench University", "university", False, False)
        self.members.append(self.university)
        self.overrides = overrides
        # Each node on a CPU of its own, in turn (`[node] cpus`): n nodes on c CPUs share
        # each CPU n/c to one, as containers each given a cpuset would.
        self.pinned = pinned
        self.cpus = sorted(os.sched_getaffinity(0))  # those `pinned` takes in turn

    @property
    def ministry(self) -> BenchMember:
        return self.members[0]

    def lay_out(self) -> None:
        (self.root / "keys").mkdir(parents=True, exist_ok=True)
        for member in self.members:
            save_key(self.root / "keys" / f"{member.slug}.key", member.keys, member.name)
        genesis = current_rules_genesis(
            "senim-bench", int(time.time() * 1000) - 3_600_000,
            tuple(GenesisMember(m.name, m.role, m.keys.public_key, m.validator)
                  for m in self.members))
        (self.root / "genesis.json").write_text(json.dumps(genesis.to_json()))
        runners = [m for m in self.members if m.runs_node]
        cpus = self.cpus
        for index, member in enumerate(runners):
            peers = [f"127.0.0.1:{m.p2p_port}" for m in runners if m is not member]
            overrides = {section: dict(values) for section, values
                         in (self.overrides or {}).items()}
            if self.pinned:
                overrides.setdefault("node", {})["cpus"] = [cpus[index % len(cpus)]]
            (self.root / f"{member.slug}.toml").write_text(render_config(
                member.slug, f"keys/{member.slug}.key", "genesis.json", f"data/{member.slug}",
                f"127.0.0.1:{member.api_port}", f"127.0.0.1:{member.p2p_port}", peers,
                log_level="warning", overrides=overrides))

    def start(self, member: BenchMember) -> None:
        log = open(self.root / f"{member.slug}.log", "ab")  # noqa: SIM115 - lives with the process
        member.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "senim"), "node", "--config",
             f"{member.slug}.toml"],
            cwd=self.root, stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def start_all(self, deadline_s: float = 60) -> None:
        for member in self.members:
            if member.runs_node:
                self.start(member)
        for member in self.members:
            if member.runs_node:
                self.wait_ready(member, deadline_s)

    def wait_ready(self, member: BenchMember, deadline_s: float) -> None:
        """Until the node answers its status; RuntimeError once its deadline passes or
        at once if its process has exited (a bad config, a port taken): a run used to
        wait out the whole deadline for a node that was already gone."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            exit_code = member.process.poll() if member.process is not None else None
            if exit_code is not None:
                raise RuntimeError(f"node {member.slug} exited with code {exit_code} while "
                                   f"starting; see {self.root / (member.slug + '.log')}")
            try:
                with urllib.request.urlopen(member.api + "/v1/status", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"node {member.slug} did not start; see {self.root}")

    def kill(self, member: BenchMember, sig: int = signal.SIGKILL) -> None:
        if member.process and member.process.poll() is None:
            member.process.send_signal(sig)
            member.process.wait(timeout=30)

    def stop_all(self) -> None:
        for member in self.members:
            self.kill(member, signal.SIGTERM)

    def status(self, member: BenchMember) -> dict[str, Any]:
        with urllib.request.urlopen(member.api + "/v1/status", timeout=10) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

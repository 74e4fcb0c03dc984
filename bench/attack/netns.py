"""The pilot's four validators, each in its own network namespace, on one virtual switch.

    scripts/testnet --netns [--dir DIR] [--seconds S]   # up until Ctrl-C, then torn down

    with NetLab(tmp_path) as lab:     # namespaces, links, keys, genesis, nodes
        lab.partition([3])            # validator 3 cannot reach the others, nor they it
        lab.heal()

Layout (all of it private to this machine; nothing is routed anywhere):
- a switch namespace holding a bridge; each validator namespace is joined to it
  by a veth pair, at 10.77.<net>.<i+1>; the test process joins it too, at
  10.77.<net>.100, so it can reach every node's API;
- each validator's link gets its own one-way delay and some loss, so a round
  trip between two of them takes 20-60 ms, as between Astana and Almaty: with
  `tc netem` where the kernel has it; otherwise the delay comes from a relay on
  the dialling side (`bench/attack/delay_relay.py`: each validator dials its
  peers through 127.0.0.1 ports) and the loss from an nftables rule (when `nft`
  is installed), so the links are still slow and lossy on such kernels;
- a partition is blackhole routes inside the namespaces, between validators
  only: the test can still ask every node how far it got.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.genesis import GenesisMember, current_rules_genesis
from ledger.identity import KeyPair
from node.config import render_config
from node.files import save_key

ONE_WAY_DELAY_MS = (10, 12, 20, 30)  # round trips of 22-50 ms between any two validators
JITTER_MS = 3
LOSS_PERCENT = 1
API_PORT, P2P_PORT = 8000, 9000
RELAY_PORT_BASE = 9100  # validator i dials validator j at 127.0.0.1:(RELAY_PORT_BASE + j)
READY_S = 60.0
CMD_TIMEOUT_S = 20.0
NAMES = ("mshe", "moe", "enu", "kaznu")  # the pilot's validators (configs/pilot)


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=check, capture_output=True, text=True,
                          timeout=CMD_TIMEOUT_S)


def why_unavailable() -> str | None:
    """A reason these tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed"
    probe = f"senim-probe-{os.getpid()}"
    made = run("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    run("ip", "netns", "del", probe, check=False)
    return None


def nft_available() -> bool:
    return shutil.which("nft") is not None


@dataclass
class Validator:
    index: int
    slug: str
    namespace: str
    address: str
    keys: KeyPair
    process: subprocess.Popen[bytes] | None = None
    relay: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://{self.address}:{API_PORT}"


def get_json(url: str, timeout_s: float = 5.0) -> Any:
    """GET a JSON answer; None when the node does not answer or answers an error."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return json.loads(response.read())
    except (OSError, ValueError, urllib.error.HTTPError):
        return None


class NetLab:
    def __init__(self, root: Path) -> None:
        self.root = root
        tag = os.getpid() % 100_000
        self.net = 1 + tag % 250
        self.switch = f"senim-sw-{tag}"
        self.client_link = f"snc{tag}"
        self.validators = [
            Validator(i, slug, f"senim-{slug}-{tag}", f"10.77.{self.net}.{i + 1}",
                      KeyPair.generate()) for i, slug in enumerate(NAMES)]
        self.issuer = KeyPair.generate()
        self.netem = False
        self.relayed = False
        self.lossy = False

    # ---- set-up and tear-down ----------------------------------------------------------
    def __enter__(self) -> NetLab:
        try:
            self._links()
            self._lay_out()
            for validator in self.validators:
                self.start(validator)
            for validator in self.validators:
                self.wait_ready(validator)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for validator in self.validators:
            self.kill(validator)
            if validator.relay is not None and validator.relay.poll() is None:
                validator.relay.kill()
                validator.relay.wait(timeout=30)
        run("ip", "link", "del", self.client_link, check=False)
        for namespace in [v.namespace for v in self.validators] + [self.switch]:
            run("ip", "netns", "del", namespace, check=False)

    def _links(self) -> None:
        sw = self.switch
        run("ip", "netns", "add", sw)
        run("ip", "-n", sw, "link", "add", "name", "br0", "type", "bridge")
        run("ip", "-n", sw, "link", "set", "br0", "up")
        for v in self.validators:
            port = f"vs{v.index}"
            run("ip", "netns", "add", v.namespace)
            run("ip", "-n", sw, "link", "add", "name", port, "type", "veth", "peer", "name",
                "eth0", "netns", v.namespace)
            run("ip", "-n", sw, "link", "set", port, "master", "br0", "up")
            run("ip", "-n", v.namespace, "addr", "add", f"{v.address}/24", "dev", "eth0")
            run("ip", "-n", v.namespace, "link", "set", "eth0", "up")
            run("ip", "-n", v.namespace, "link", "set", "lo", "up")
        run("ip", "link", "add", "name", self.client_link, "type", "veth", "peer", "name",
            "vsc", "netns", sw)
        run("ip", "-n", sw, "link", "set", "vsc", "master", "br0", "up")
        run("ip", "addr", "add", f"10.77.{self.net}.100/24", "dev", self.client_link)
        run("ip", "link", "set", self.client_link, "up")
        self.netem = all(run(
            "ip", "netns", "exec", v.namespace, "tc", "qdisc", "add", "dev", "eth0", "root",
            "netem", "delay", f"{ONE_WAY_DELAY_MS[v.index]}ms", f"{JITTER_MS}ms",
            "loss", f"{LOSS_PERCENT}%", check=False).returncode == 0 for v in self.validators)
        if not self.netem:
            self.relayed = True
            self.lossy = nft_available() and all(self._drop_some(v) for v in self.validators)

    def _drop_some(self, v: Validator) -> bool:
        """LOSS_PERCENT of the packets from other validators never arrive (nftables)."""
        table = ["ip", "netns", "exec", v.namespace, "nft"]
        steps = [["add", "table", "inet", "senim_loss"],
                 ["add", "chain", "inet", "senim_loss", "input",
                  "{ type filter hook input priority 0 ; }"],
                 ["add", "rule", "inet", "senim_loss", "input", "iifname", "eth0", "ip",
                  "saddr", "!=", f"10.77.{self.net}.100", "numgen", "random", "mod", "100",
                  "<", str(LOSS_PERCENT), "drop"]]
        return all(run(*table, *step, check=False).returncode == 0 for step in steps)

    def _start_relay(self, v: Validator) -> None:
        """v dials each peer through a local port whose relay adds both one-way delays."""
        links = [f"127.0.0.1:{RELAY_PORT_BASE + o.index}={o.address}:{P2P_PORT},"
                 f"{ONE_WAY_DELAY_MS[v.index]},{ONE_WAY_DELAY_MS[o.index]}"
                 for o in self.validators if o is not v]
        with (self.root / f"{v.slug}-relay.log").open("ab") as log:
            v.relay = subprocess.Popen(
                ["ip", "netns", "exec", v.namespace, sys.executable, "-m",
                 "bench.attack.delay_relay", *links], cwd=Path(__file__).resolve().parents[2],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def peer_addresses(self, v: Validator) -> list[str]:
        if self.relayed:
            return [f"127.0.0.1:{RELAY_PORT_BASE + o.index}"
                    for o in self.validators if o is not v]
        return [f"{o.address}:{P2P_PORT}" for o in self.validators if o is not v]

    def describe_links(self) -> str:
        delays = ", ".join(f"{d} ms" for d in ONE_WAY_DELAY_MS)
        if self.netem:
            return f"netem: one-way delays {delays}, {LOSS_PERCENT}% loss"
        if self.relayed:
            loss = f"{LOSS_PERCENT}% loss by nftables" if self.lossy else "no loss (no nft)"
            return f"no netem: one-way delays {delays} by relay, {loss}"
        return "plain links"

    def _lay_out(self) -> None:
        (self.root / "keys").mkdir(parents=True, exist_ok=True)
        members = []
        for v in self.validators:
            save_key(self.root / "keys" / f"{v.slug}.key", v.keys, v.slug)
            members.append(GenesisMember(f"Ministry {v.slug}", "ministry", v.keys.public_key,
                                         True))
        members.append(GenesisMember("Pilot University", "university",
                                     self.issuer.public_key, False))
        genesis = current_rules_genesis("senim-netns", int(time.time() * 1000) - 3_600_000,
                                        tuple(members))
        (self.root / "genesis.json").write_text(json.dumps(genesis.to_json()))
        for v in self.validators:
            peers = self.peer_addresses(v)
            if self.relayed:
                self._start_relay(v)
            (self.root / f"{v.slug}.toml").write_text(render_config(
                v.slug, f"keys/{v.slug}.key", "genesis.json", f"data/{v.slug}",
                f"{v.address}:{API_PORT}", f"{v.address}:{P2P_PORT}", peers,
                log_level="info", overrides={"consensus": {"view_timeout_ms": 1000}}))

    # ---- processes ---------------------------------------------------------------------
    def start(self, v: Validator) -> None:
        senim = str(Path(sys.executable).parent / "senim")
        with (self.root / f"{v.slug}.log").open("ab") as log:
            v.process = subprocess.Popen(
                ["ip", "netns", "exec", v.namespace, senim, "node", "--config",
                 f"{v.slug}.toml"], cwd=self.root, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)

    def wait_ready(self, v: Validator) -> None:
        deadline = time.monotonic() + READY_S
        while get_json(v.api + "/v1/status", 2) is None:
            if v.process is None or v.process.poll() is not None:
                raise RuntimeError(f"{v.slug} exited; see {self.root / (v.slug + '.log')}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{v.slug} not ready within {READY_S}s")
            time.sleep(0.2)

    def kill(self, v: Validator) -> None:
        if v.process is not None and v.process.poll() is None:
            v.process.kill()
            v.process.wait(timeout=30)

    # ---- partitions --------------------------------------------------------------------
    def _routes(self, action: str, minority: list[int]) -> None:
        for v in self.validators:
            inside = v.index in minority
            for other in self.validators:
                if other is not v and (other.index in minority) != inside:
                    run("ip", "-n", v.namespace, "route", action, "blackhole",
                        f"{other.address}/32", check=action == "add")

    def partition(self, minority: list[int]) -> None:
        """Cut the validators in `minority` off from the rest (both directions)."""
        self._minority = minority
        self._routes("add", minority)

    def heal(self) -> None:
        self._routes("del", self._minority)

    # ---- chain facts -------------------------------------------------------------------
    def height(self, v: Validator) -> int | None:
        status = get_json(v.api + "/v1/status")
        return int(status["height"]) if isinstance(status, dict) else None

    def blocks(self, v: Validator, up_to: int) -> list[dict[str, Any]]:
        found = []
        for height in range(1, up_to + 1):
            block = get_json(f"{v.api}/v1/blocks/{height}", 10)
            if not isinstance(block, dict):
                raise AssertionError(f"{v.slug} has no block {height}")
            found.append(block)
        return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/testnet --netns",
                                     description="the pilot's validators in namespaces")
    parser.add_argument("--dir", type=Path, help="lay the network out here (kept)")
    parser.add_argument("--seconds", type=float, default=3600.0,
                        help="stop after this long (default: an hour, or Ctrl-C)")
    args = parser.parse_args(argv)
    reason = why_unavailable()
    if reason is not None:
        print(f"senim testnet --netns: {reason}", file=sys.stderr)
        return 1
    root = args.dir or Path(tempfile.mkdtemp(prefix="senim-netns-"))
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with NetLab(root) as lab:
        print(f"pilot up in network namespaces ({lab.describe_links()}); files in {root}")
        for v in lab.validators:
            print(f"  {v.slug:6} {v.api}  (namespace {v.namespace})")
        print("Ctrl-C stops the nodes and removes the namespaces.", flush=True)
        until = time.monotonic() + min(args.seconds, 86_400.0)
        while not stop and time.monotonic() < until:
            if any(v.process is None or v.process.poll() is not None for v in lab.validators):
                print("a node exited; see its log in " + str(root), file=sys.stderr)
                return 1
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())

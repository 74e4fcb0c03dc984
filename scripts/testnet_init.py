"""Lay out a local testnet folder from configs/pilot: keys, genesis, node configs.

Idempotent: existing keys and genesis are kept, so a second run changes nothing.

SENIM_TESTNET_PORTS="LOW-HIGH" moves the nodes off the pilot's addresses (8101-8105 and
9101-9105), which another testnet on the machine may hold: each node running takes the
next two ports from LOW, its API's then its P2P's, on 127.0.0.1. The configs are written
again on each run, so a later run may give another range; the genesis names no address.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from node.config import render_config

PORTS_ENV = "SENIM_TESTNET_PORTS"


def moved(runners: list[dict[str, object]], ports: str) -> None:
    """Give each runner's api_address and p2p_address two ports of `ports` ("LOW-HIGH")."""
    found = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", ports)
    low, high = (int(found[1]), int(found[2])) if found else (0, -1)
    if not 1024 <= low <= high <= 65535 or high - low + 1 < 2 * len(runners):
        sys.exit(f"{PORTS_ENV}={ports!r}: give a range LOW-HIGH of ports from 1024 to 65535 "
                 f"holding at least {2 * len(runners)} (two for each of the "
                 f"{len(runners)} nodes)")
    for index, member in enumerate(runners):
        member["api_address"] = f"127.0.0.1:{low + 2 * index}"
        member["p2p_address"] = f"127.0.0.1:{low + 2 * index + 1}"


def main(pilot_dir: Path, net_dir: Path) -> None:
    description = tomllib.loads((pilot_dir / "consortium.toml").read_text())
    if os.environ.get(PORTS_ENV):  # checked before anything is made
        moved([m for m in description["members"] if m.get("runs_node")],
              os.environ[PORTS_ENV])
    (net_dir / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
    for member in description["members"]:
        key = net_dir / member["key"]
        if not key.exists():
            subprocess.run(["senim", "keygen", str(key), "--label", member["name"]],
                           check=True, stdout=subprocess.DEVNULL)
    members_toml = net_dir / "members.toml"
    lines = [f'chain_id = "{description["chain_id"]}"',
             f'genesis_time = "{description["genesis_time"]}"', ""]
    for member in description["members"]:
        lines += ["[[members]]"] + [
            f"{k} = {json.dumps(member[k])}" for k in
            ("name", "role", "key", "validator")] + [""]
    members_toml.write_text("\n".join(lines))
    genesis = net_dir / "genesis.json"
    if not genesis.exists():
        subprocess.run(["senim", "consortium", "create", "--members", str(members_toml),
                        "--out", str(genesis)], check=True, stdout=sys.stderr)
    runners = [m for m in description["members"] if m.get("runs_node")]
    for member in runners:
        peers = [m["p2p_address"] for m in runners if m is not member]
        config = net_dir / f"{member['slug']}.toml"
        config.write_text(render_config(
            member["slug"], member["key"], "genesis.json", f"data/{member['slug']}",
            member["api_address"], member["p2p_address"], peers,
            overrides={"consensus": {"view_timeout_ms": 1000}}))
        print(member["slug"], member["api_address"])


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

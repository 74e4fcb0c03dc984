"""Lay out a local testnet folder from configs/pilot: keys, genesis, node configs.

Idempotent: existing keys and genesis are kept, so a second run changes nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from node.config import render_config


def main(pilot_dir: Path, net_dir: Path) -> None:
    description = tomllib.loads((pilot_dir / "consortium.toml").read_text())
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

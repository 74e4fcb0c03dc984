"""`senim node | status | members`: run a node, and read what a running node says."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.client import ClientError, NodeClient
from cli.commands import node_option
from cli.errors import fail


@click.command("node")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path))
@click.option("--resync", is_flag=True,
              help="Move data_dir/chain.ldb aside (renamed with the time, never deleted) and "
                   "start as a fresh node that syncs from its peers: by state sync with "
                   "[sync] state_sync = true, else block by block from genesis.")
def node_command(config_path: Path, resync: bool) -> None:
    """Run a node in the foreground until SIGTERM or SIGINT."""
    from node.daemon import run

    sys.exit(run(config_path, resync=resync))


@click.command()
@node_option
@click.option("--json", "as_json", is_flag=True, help="Print the raw status JSON.")
def status(node_url: str, as_json: bool) -> None:
    """Height, head hash, consensus, peers and mempool of a node."""
    try:
        info = NodeClient(node_url, timeout_s=10).status()
    except ClientError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"node      {info['node']} ({info['member'] or 'observer'}) at {node_url}")
    click.echo(f"chain     {info['chain_id']}")
    click.echo(f"height    {info['height']}  head {info['head_hash'][:16]}…  "
               f"({info['head_time']})")
    click.echo(f"mempool   {info['mempool']['transactions']} tx, "
               f"{info['mempool']['bytes']} bytes")
    consensus_info = info.get("consensus", {})
    if consensus_info.get("mode") == "pbft":
        click.echo(f"consensus PBFT, {consensus_info['validators']} validators "
                   f"(tolerates {consensus_info['max_faulty']} faulty); view "
                   f"{consensus_info['view']}, primary {consensus_info['primary']}, "
                   f"phase {consensus_info['phase']}")
    else:
        click.echo(f"consensus {consensus_info.get('mode', '?')} (not a validator)")
    reachable, unreachable = consensus_info.get("reachable"), consensus_info.get("unreachable")
    if isinstance(reachable, list) and isinstance(unreachable, list):
        total = len(reachable) + len(unreachable)
        line = f"validators {len(reachable)} of {total} reachable from this node"
        if unreachable:
            line += "; unreachable: " + ", ".join(unreachable)
        click.secho(line, fg="yellow" if unreachable else None)
        if len(reachable) < int(consensus_info.get("quorum", total)):
            click.secho(f"no quorum: {len(reachable)} of {total} validators reachable; "
                        "nothing commits until enough of them return", fg="red", bold=True)
    if consensus_info.get("behind"):
        click.secho(f"catching up: {consensus_info['behind']} block(s) behind", fg="yellow")
    peers = info.get("peers", [])
    click.echo(f"peers     {len(peers)}")
    for peer in peers:
        auth = "authenticated" if peer["authenticated"] else "handshaking"
        role = "validator" if peer.get("validator") else "follower"
        click.echo(f"  {peer['member'][:48]:<48} {role:<9} {auth:<13} {peer['direction']:<8} "
                   f"{peer['address']} up {peer['connected_s']}s")


@click.command()
@node_option
def members(node_url: str) -> None:
    """List consortium members, their ids and accreditations."""
    try:
        answer = NodeClient(node_url, timeout_s=10).request("GET", "/v1/members")
    except ClientError as exc:
        fail(str(exc))
    for member in answer["members"]:
        flag = " validator" if member["validator"] else ""
        click.echo(f"{member['member_id']}  {member['role']:<10} {member['name']}{flag}")
        for grant in member["accreditations"]:
            state = (f"suspended at height {grant['suspended_height']}"
                     if grant["suspended_height"] is not None else "active")
            click.echo(f"    accredited for {','.join(grant['types'])} "
                       f"{grant['from']} – {grant['until']} ({state})")

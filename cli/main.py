"""`senim` — the command line of Senim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.admin import accredit, add_member, anchor, suspend
from cli.consortium import consortium_group
from cli.errors import EXIT_INTERRUPTED, fail
from cli.evidence import evidence_group
from cli.fsck import fsck_command
from cli.governance import governance_group
from cli.issuing import issue_command
from cli.keys import key_group
from cli.node_info import members, node_command, status
from cli.records import employment_group, recognise_command
from cli.sharing import share_command
from cli.vc import export_vc_command, tls_cert_command
from cli.verifying import (
    disclose_command,
    prove_command,
    revoke_command,
    supersede_command,
    verify_command,
)
from ledger.identity import KeyPair
from node.files import save_key


class SenimGroup(click.Group):
    """Ctrl-C in a command that does not say more itself (senim issue does): one line
    and exit 130, rather than click's 'Aborted!' and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # a running node takes SIGINT as its stop; before that it is still starting
            click.secho("interrupted: " + (
                "the node stopped while starting" if ctx.invoked_subcommand == "node" else
                "stopped before it finished; a transaction it had already sent may still "
                "commit"), fg="yellow", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=SenimGroup)
@click.version_option("0.1.0", prog_name="senim")
def main() -> None:
    """Senim (Сенім): a consortium ledger of education credentials."""


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--label", default="", help="A note stored in the key file (e.g. the organisation).")
def keygen(path: Path, label: str) -> None:
    """Create an Ed25519 member key file (mode 0600) and print its member id."""
    keys = KeyPair.generate()
    try:
        save_key(path, keys, label)
    except FileExistsError:
        if path.is_dir():
            fail(f"{path} is a folder: give the key file's own path, e.g. {path / 'me.key'}", 2)
        fail(f"{path} exists; refusing to overwrite a key", 2)
    except OSError as exc:
        fail(f"cannot write the key file {path}: {exc.strerror or exc}", 2)
    click.echo(f"member id:  {keys.member_id.hex()}")
    click.echo(f"public key: {keys.public_key.hex()}")
    click.echo(f"key file:   {path} (mode 0600)")


for command in (consortium_group, node_command, status, members, accredit, suspend, add_member,
                anchor, issue_command, verify_command, disclose_command, revoke_command,
                supersede_command, prove_command, share_command, export_vc_command,
                tls_cert_command, employment_group, recognise_command, fsck_command, key_group,
                governance_group, evidence_group):
    main.add_command(command)

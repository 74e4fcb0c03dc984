"""`senim` — the command line of Senim."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from cli.closed_pipe import quiet_when_reader_gone
from cli.entry import STOPPED_WHILE_STARTING
from cli.errors import EXIT_INTERRUPTED
from cli.language import spoken_language
from cli.worded_group import WordedGroup
from node.start_interrupt import node_options, say_interrupted

# Each command's module is imported when that command runs (or when the help lists them
# all): importing every one took about 1.7 s of CPU on each `senim` call, most of it for
# modules the command does not use (aiohttp, openpyxl, the node's HTTP API).
COMMANDS: dict[str, tuple[str, str]] = {
    "accredit": ("cli.admin", "accredit"), "add-member": ("cli.admin", "add_member"),
    "anchor": ("cli.admin", "anchor"), "suspend": ("cli.admin", "suspend"),
    "consortium": ("cli.consortium", "consortium_group"),
    "evidence": ("cli.evidence", "evidence_group"), "fsck": ("cli.fsck_command", "fsck_command"),
    "governance": ("cli.governance", "governance_group"),
    "issue": ("cli.issuing", "issue_command"), "key": ("cli.keys", "key_group"),
    "keygen": ("cli.keys", "keygen"),
    "members": ("cli.node_info", "members"), "node": ("cli.node_info", "node_command"),
    "status": ("cli.node_status", "status"), "employment": ("cli.records", "employment_group"),
    "recognise": ("cli.records", "recognise_command"),
    "share": ("cli.sharing", "share_command"), "export-vc": ("cli.vc", "export_vc_command"),
    "tls-cert": ("cli.tls_cert", "tls_cert_command"),
    "disclose": ("cli.verifying", "disclose_command"),
    "prove": ("cli.verifying", "prove_command"), "revoke": ("cli.revoking", "revoke_command"),
    "supersede": ("cli.revoking", "supersede_command"),
    "verify": ("cli.verify_command", "verify_command"),
}


# What Ctrl-C leaves, said by a command that speaks the reader's language (cli.spoken):
# a check changes nothing; supersede (and issue before its job's own handler) may have
# sent a transaction, as may the ministry's commands (`governance` any of its own: its
# group cannot tell which ran), as may `employment start|end`, `recognise`, `anchor` and
# `key rotate|report-compromise`; `members`, `evidence`, `status` and `fsck` only read;
# the others write a file at most (`node` says it in its log, in English).
INTERRUPTED = {"verify": "cli.interrupted.check", "supersede": "cli.interrupted.sending",
               "issue": "cli.interrupted.sending", "accredit": "cli.interrupted.sending",
               "suspend": "cli.interrupted.sending", "add-member": "cli.interrupted.sending",
               "governance": "cli.interrupted.sending", "members": "cli.interrupted.reading",
               "evidence": "cli.interrupted.reading", "employment": "cli.interrupted.sending",
               "recognise": "cli.interrupted.sending", "anchor": "cli.interrupted.sending",
               "key": "cli.interrupted.sending", "status": "cli.interrupted.reading",
               "fsck": "cli.interrupted.reading"}


class SenimGroup(WordedGroup):
    """Ctrl-C in a command that does not say more itself (senim issue does): one line
    and exit 130, rather than click's 'Aborted!' and exit 1. A reader that closes the
    pipe early ends the command as SIGPIPE ends git (cli.closed_pipe), before click makes
    it a silent exit 1. Commands in COMMANDS are loaded when asked for. Its --help, and
    a usage error before a command is named, are said in the language asked for (--lang
    anywhere on the command line, else the locale), as each command's own are."""

    help_key = "senim"

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        with quiet_when_reader_gone():  # --help and --version print while parsing
            return super().make_context(info_name, args, parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def command_help_key(self, command: str) -> str:
        return f"cli.help.{command}"  # each command's own description, first sentence

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module_name, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command), (module_name, attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        with quiet_when_reader_gone():
            return self._invoke(ctx)

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            command = self.commands.get(ctx.invoked_subcommand or "")
            # `senim node` says it in its log, as its other lines (below)
            if getattr(command, "reads_lang_first", False) and command is not None \
                    and command.name != "node":
                # a verifier-facing command (cli.spoken), loaded by now: said in its
                # reader's language, and true of it (it sends no transaction)
                from cli.spoken import Sentence, say
                click.secho(say(Sentence(INTERRUPTED.get(ctx.invoked_subcommand or "",
                                                         "cli.interrupted.writing"))),
                            fg="yellow", err=True)
                ctx.exit(EXIT_INTERRUPTED)
            # Before a command is named it is being imported (up to seconds): nothing done.
            # A running node takes SIGINT as its stop; before that it is still starting,
            # and says so in its own log format (a JSON line for a collector).
            node = node_options(sys.argv[1:])
            if node is not None and ctx.invoked_subcommand in (None, "node"):
                ctx.exit(say_interrupted(*node, exc))
            if ctx.invoked_subcommand is None:
                # the group spoke the language the whole command line asks for
                click.secho(STOPPED_WHILE_STARTING[spoken_language()], fg="yellow", err=True)
                ctx.exit(EXIT_INTERRUPTED)
            click.secho("interrupted: " + (
                "the node stopped while starting" if ctx.invoked_subcommand == "node"
                else "stopped before it finished; a transaction it had already sent may "
                "still commit"), fg="yellow", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=SenimGroup)
@click.version_option("0.1.0", prog_name="senim")
def main() -> None:
    """Senim (Сенім): a consortium ledger of education credentials."""

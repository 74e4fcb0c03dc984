"""A new member's admission request (rules version 12, `ledger.admission`): the organisation
to admit makes its key (`senim keygen`) and, with `senim key request-admission`, a request
file holding only public things: the chain, the name and role it asks to be admitted as,
its public key and the key's signature over them. A ministry admits it with `senim
add-member --request FILE`, or proposes it with `senim governance propose --action
add-member --request FILE`. The ledger admits a key from version 12 only with that proof,
so that nobody can name a key its holder asked for elsewhere (a replacement request's).

Both ends check the request, so that neither sends what the ledger would refuse for a
request of another chain or a proof that does not hold. A chain still under an earlier
version admits without a proof and refuses one: the key is then sent alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.commands import load_key_or_fail, node_option
from cli.errors import EXIT_BAD_INPUT, EXIT_UNREACHABLE
from cli.key_replacement import (
    hex_fields,
    read_request_object,
    request_chain_id,
    write_request,
)
from cli.language import lang_option
from cli.member_names import new_member_name
from cli.refusals import malformed, node_said
from cli.spoken import Sentence, echo, refuse
from cli.worded_command import WordedCommand
from ledger.admission import admission_message, prove_admission
from ledger.identity import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, verify_signature
from ledger.rules_version import ADMISSION_PROOF_FROM, GENESIS_RULES_VERSION
from ledger.transactions import ROLES

ADMISSION_REQUEST_KIND = "senim-admission-request"


@dataclass(frozen=True)
class Admission:
    """A request as read and checked: what to admit, and the proof to send with it (None
    under a rules version before ADMISSION_PROOF_FROM, which refuses one)."""

    name: str
    role: str
    public_key: bytes
    possession_proof: bytes | None


@dataclass(frozen=True)
class AdmissionRequested:
    """`--request FILE` of add-member as given: read once the node is at hand."""

    request: Path

    def admission(self, client: NodeClient) -> Admission:
        try:
            status = client.status()
        except ClientError as exc:
            refuse(node_said(exc), exc.exit_code)
        try:
            chain_id = str(status["chain_id"])
            rules = status.get("rules")  # a node of a release before rules versions has none
            version = (int(rules["version"]) if isinstance(rules, dict) and "version" in rules
                       else GENESIS_RULES_VERSION)
        except MALFORMED_ANSWER as exc:  # a hostile node's `"version": "x"` was a traceback
            refuse(malformed(client.base_url, "status", f"{type(exc).__name__}: {exc}"),
                   EXIT_UNREACHABLE)
        name, role, key, proof = read_admission_request(self.request, chain_id)
        return Admission(name, role, key, proof if version >= ADMISSION_PROOF_FROM else None)


def _damaged(path: Path) -> Sentence:
    return Sentence("key.admission.damaged", f"{path} is damaged: its name, role, key and "
                    "proof of possession do not hold together; ask the organisation for a "
                    "new request", path=path)


def read_admission_request(path: Path, chain_id: str) -> tuple[str, str, bytes, bytes]:
    """The name, role, key and proof of the request at `path`, checked against this chain
    (one line and exit 2 otherwise)."""
    request = read_request_object(path, ADMISSION_REQUEST_KIND, Sentence(
        "key.admission.not_one", f"{path} is not an admission request (one is made by "
        "senim key request-admission)", path=path))
    fields = hex_fields(request, (("public_key", PUBLIC_KEY_BYTES),
                                  ("possession_proof", SIGNATURE_BYTES)), _damaged(path))
    name, role = request.get("name"), request.get("role")
    if not isinstance(name, str) or role not in ROLES:
        refuse(_damaged(path), EXIT_BAD_INPUT)
    if request.get("chain_id") != chain_id:
        refuse(Sentence("key.request.other_chain", f"{path} was made for another chain, not "
                        f"this node's ({chain_id})", path=path, chain=chain_id), EXIT_BAD_INPUT)
    message = admission_message(chain_id, fields["public_key"], name, str(role))
    if not verify_signature(fields["public_key"], message, fields["possession_proof"]):
        refuse(_damaged(path), EXIT_BAD_INPUT)
    return name, str(role), fields["public_key"], fields["possession_proof"]


class _KeyCommand(WordedCommand):
    help_key = "key.request-admission"  # its --help words: cli.help.key.request-admission


@click.command("request-admission", cls=_KeyCommand)
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path),
              help="Your new organisation's key file (senim keygen makes one).")
@click.option("--name", required=True, help="The name to be admitted as.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="The role to be "
              "admitted as.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="The request file to write (it holds no secret).")
@node_option
@lang_option
def request_admission_command(key_path: Path, name: str, role: str, out_path: Path,
                              node_url: str, language: str) -> None:
    """Ask a ministry to admit your organisation: its key signs the name and role asked."""
    keys = load_key_or_fail(key_path)
    client = NodeClient(node_url)
    name = new_member_name(client, name)  # as the ministry's command will read it
    chain_id = request_chain_id(client, out_path)
    request = {"kind": ADMISSION_REQUEST_KIND, "chain_id": chain_id, "name": name,
               "role": role, "public_key": keys.public_key.hex(),
               "possession_proof": prove_admission(keys, chain_id, name, role).hex()}
    write_request(out_path, request)
    echo(Sentence("key.admission.done", f"wrote {out_path}: the request to admit "
                  f"{keys.public_key.hex()} as {name} ({role}). Give it to a ministry: senim "
                  f"add-member --request {out_path} (a ministry: senim governance propose "
                  f"--action add-member --request {out_path})", path=out_path,
                  public=keys.public_key.hex(), name=name, role=Sentence(f"gov.role.{role}")))

"""A member named where a member id is expected (`--member`, `--issuer`).

Operators know the organisations by name; ids are 40 hex digits. A value that is an
id is taken as it is, with no question to the node. Anything else is looked up in
the node's member registry (`GET /v1/members`): the member of exactly that name, or
else the one whose name matches it ignoring case. Nothing is guessed: two members
of that name, or none, end the command naming the candidates and `senim members`.
"""

from __future__ import annotations

from typing import Any

from cli.client import MALFORMED_ANSWER, ClientError, NodeClient
from cli.errors import EXIT_BAD_INPUT, EXIT_UNREACHABLE, fail
from ledger.identity import MEMBER_ID_BYTES, MemberId

# Candidates named in a refusal; a name matching more is no name to pick from anyway.
MAX_CANDIDATES_NAMED = 8


def _as_id(value: str) -> MemberId | None:
    try:
        raw = bytes.fromhex(value.strip())
    except ValueError:
        return None
    return MemberId(raw) if len(raw) == MEMBER_ID_BYTES else None


def _named(members: list[dict[str, Any]]) -> str:
    shown = [f"{m['name']} ({m['member_id']})" for m in members[:MAX_CANDIDATES_NAMED]]
    more = len(members) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _registry(client: NodeClient) -> list[dict[str, Any]]:
    try:
        members = client.request("GET", "/v1/members")["members"]
        return [{"name": str(m["name"]), "member_id": str(m["member_id"])} for m in members]
    except ClientError as exc:
        fail(f"looking the name up: {exc}", exc.exit_code)
    except MALFORMED_ANSWER as exc:
        fail(f"{client.base_url} sent a malformed members answer ({type(exc).__name__}): "
             "is it a Senim node?", EXIT_UNREACHABLE)


def resolve_member(client: NodeClient, value: str, option: str) -> MemberId:
    """`value` (an id, or a member's name as `senim members` shows it) as a member id."""
    member_id = _as_id(value)
    if member_id is not None:
        return member_id
    members = _registry(client)
    wanted = value.strip()
    found = [m for m in members if m["name"] == wanted]
    if not found:
        found = [m for m in members if m["name"].casefold() == wanted.casefold()]
    if len(found) == 1:
        return MemberId(bytes.fromhex(found[0]["member_id"]))
    if found:
        fail(f"{option} {value!r} names {len(found)} members: {_named(found)}. Give the "
             "member id of the one you mean (see `senim members`)", EXIT_BAD_INPUT)
    near = [m for m in members if wanted and wanted.casefold() in m["name"].casefold()]
    hint = f"; names containing it: {_named(near)}" if near else ""
    fail(f"{option} {value!r} is neither a member id ({2 * MEMBER_ID_BYTES} hex digits) nor "
         f"a member's name{hint}. Give the id or the full name as `senim members` lists them",
         EXIT_BAD_INPUT)

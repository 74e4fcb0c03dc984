"""A credential's or an anchored document's verdict from a node's answers, checked against
genesis when one is given: what `senim verify` says online, and what `senim export-vc`
asks before it signs anything."""

from __future__ import annotations

from typing import Any

from cli.deadline import Deadline
from cli.errors import EXIT_BAD_INPUT, EXIT_UNREACHABLE
from cli.freshness import check_fresh
from cli.remote import (
    NODE_RECORD_ERRORS,
    RemoteFacts,
    RemoteFactsError,
    StateMoved,
    UntrustedAnswer,
    login_in_url,
    undecodable,
)
from cli.spoken import Sentence, reason, refuse
from ledger.blocks import Header
from ledger.genesis import Genesis
from ledger.verification import Check, Verdict, verify_anchored_digest, verify_credential, when
from node.validators import certifies_by_keys


def verify_online(document: Any, digest: bytes, is_credential: bool, node_url: str,
                   genesis: Genesis | None, max_age_s: float | None,
                   deadline: Deadline | None = None) -> tuple[Verdict, Sentence]:
    """`digest`: the file's `file_digest` when it is no credential (an anchored document).
    The verdict, and its source in words."""
    login = login_in_url(node_url)  # $SENIM_NODE's ("--node" was refused as given)
    if login is not None:
        refuse(login, EXIT_BAD_INPUT)
    certified = certifies_by_keys(genesis.chain_id) if genesis else None
    for _attempt in range(3):
        facts = RemoteFacts(node_url, certified=certified, genesis=genesis, deadline=deadline)
        try:
            chain_id = genesis.chain_id if genesis else facts.get_json("/v1/status")["chain_id"]
            if not isinstance(chain_id, str):  # else "issued on network 't', this is 5"
                raise TypeError(f"its status gives the chain id {chain_id!r}, which is no text")
            verdict = (verify_credential(document, facts, chain_id) if is_credential
                       else verify_anchored_digest(digest, facts))
        except StateMoved:
            continue
        except UntrustedAnswer as exc:
            verdict = Verdict(False, "untrusted", f"the node's answer cannot be trusted: {exc}",
                              facts.describe(), [Check("certified", False, str(exc))])
            verdict.facts.update(exc.verdict_facts(node_url))
            return verdict, facts.described()
        except RemoteFactsError as exc:
            refuse(reason(exc, "cli.node.other", node=node_url), EXIT_UNREACHABLE)
        except NODE_RECORD_ERRORS as exc:
            refuse(undecodable(exc, node_url), EXIT_UNREACHABLE)
        source = facts.described()
        if facts.state_root:
            source = Sentence("cli.source.with_root", None, source=source,
                              root=f"{facts.state_root.hex()[:16]}…")
        verdict.source = str(source)
        if facts.header is not None:
            as_of_block(verdict, facts.header)
            return check_fresh(verdict, facts.header.time_ms, max_age_s), source
        return verdict, source
    refuse(Sentence("cli.node.moving"), EXIT_UNREACHABLE)


def as_of_block(verdict: Verdict, header: Header) -> None:
    """A verdict from one block's certified state says so: a revocation after it is not
    seen (an old proof, or a node serving an old state)."""
    if verdict.valid:
        # a transcript's lines, an employment or an original come after it (the last check
        # was replaced, and one of theirs lost); an anchored document has no such check
        at = next((i for i, c in enumerate(verdict.checks) if c.name == "not_revoked"), None)
        if at is not None:
            verdict.checks[at] = Check("not_revoked", True, f"no revocation on chain as of "
                                       f"block {header.height} ({when(header.time_ms)})")
    verdict.facts["as_of_height"] = header.height
    verdict.facts["as_of_time"] = when(header.time_ms)

"""A credential's or an anchored document's verdict from a node's answers, checked against
genesis when one is given: what `senim verify` says online, and what `senim export-vc`
asks before it signs anything."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from cli.deadline import Deadline
from cli.errors import EXIT_BAD_INPUT, EXIT_UNREACHABLE
from cli.freshness import check_fresh
from cli.named_issuer import issuer_checked
from cli.node_answers import RemoteFactsError, login_in_url, shown_node
from cli.remote import (
    NODE_RECORD_ERRORS,
    RemoteFacts,
    StateMoved,
    UntrustedAnswer,
    undecodable,
)
from cli.spoken import Sentence, reason, refuse
from ledger.anchor_verification import verify_anchored_digest
from ledger.blocks import Header
from ledger.genesis import CHAIN_ID_CHARS_MAX, Genesis
from ledger.verification import Check, Verdict, verify_credential, when
from node.validators import certifies_by_keys


class NodeFailed(Exception):
    """A node gave no verdict: unreachable, a malformed answer, a chain that kept moving;
    `sentence` says why, `code` is the exit code a command that asked it alone gives;
    `why` says it after "{node} gave no answer", beside other nodes' answers (the
    sentence, unless that names the node again)."""

    def __init__(self, sentence: Sentence, code: int, why: Sentence | None = None) -> None:
        super().__init__(str(sentence))
        self.sentence, self.code = sentence, code
        self.why = why or sentence


class Judged(Protocol):
    """What several nodes' answers are compared by (cli.several_nodes): a native
    credential's or anchored document's Verdict, a W3C VC's or presentation's VcVerdict."""
    valid: bool
    status: str
    facts: dict[str, Any]


AnyJudged = TypeVar("AnyJudged", bound=Judged)


@dataclass(frozen=True)
class NodeVerdict(Generic[AnyJudged]):
    """One node's verdict, its source in words, and the height of the state it was read
    from: certified (the block followed from genesis) or on the node's word."""
    verdict: AnyJudged
    source: Sentence
    height: int | None
    certified: bool


def verify_online(document: Any, digest: bytes, is_credential: bool, node_url: str,
                   genesis: Genesis | None, max_age_s: float | None,
                   deadline: Deadline | None = None) -> tuple[Verdict, Sentence]:
    """`digest`: the file's `file_digest` when it is no credential (an anchored document).
    The verdict, and its source in words; a node that gives none is refused with
    `NodeFailed.code` (3; 2 for a login in its URL)."""
    answer = answer_alone(lambda node: node_verdict(document, digest, is_credential, node,
                                                    genesis, max_age_s, deadline), node_url)
    return answer.verdict, answer.source


def answer_alone(ask: Callable[[str], NodeVerdict[AnyJudged]], node: str
                 ) -> NodeVerdict[AnyJudged]:
    """`ask(node)`, a node asked alone: a NodeFailed is refused with its code."""
    try:
        return ask(node)
    except NodeFailed as exc:
        refuse(exc.sentence, exc.code)


def node_verdict(document: Any, digest: bytes, is_credential: bool, node_url: str,
                 genesis: Genesis | None, max_age_s: float | None,
                 deadline: Deadline | None = None) -> NodeVerdict[Verdict]:
    """`verify_online`'s verdict from `node_url`, or NodeFailed: refusing nothing itself,
    so that one node of several (cli.several_nodes) may fail while the others answer."""
    login = login_in_url(node_url)  # $SENIM_NODE's ("--node" was refused as given)
    if login is not None:
        raise NodeFailed(login, EXIT_BAD_INPUT)
    certified = certifies_by_keys(genesis.chain_id) if genesis else None
    for _attempt in range(3):
        facts = RemoteFacts(node_url, certified=certified, genesis=genesis, deadline=deadline)
        try:
            status = facts.get_json("/v1/status")
            chain_id = genesis.chain_id if genesis else status_chain_id(status)
            verdict = (verify_credential(document, facts, chain_id) if is_credential
                       else issuer_checked(verify_anchored_digest(digest, facts), document))
            retired = _node_retired(facts, status)
        except StateMoved:
            continue
        except UntrustedAnswer as exc:
            verdict = Verdict(False, "untrusted", f"the node's answer cannot be trusted: {exc}",
                              facts.describe(), [Check("certified", False, str(exc))])
            verdict.facts.update(exc.verdict_facts(node_url))
            return NodeVerdict(verdict, facts.described(), None, False)
        except RemoteFactsError as exc:
            raise NodeFailed(reason(exc, "cli.node.other", node=shown_node(node_url)),
                             EXIT_UNREACHABLE) from exc
        except NODE_RECORD_ERRORS as exc:
            raise NodeFailed(undecodable(exc, node_url), EXIT_UNREACHABLE) from exc
        source = facts.described()
        if facts.state_root:
            source = Sentence("cli.source.with_root", None, source=source,
                              root=f"{facts.state_root.hex()[:16]}…")
        verdict.source = str(source)
        if retired is not None:
            verdict = _cut_off(verdict, node_url, *retired)
        if facts.header is not None:
            as_of_block(verdict, facts.header)
            return NodeVerdict(check_fresh(verdict, facts.header.time_ms, max_age_s), source,
                               facts.header.height, verdict.status != "untrusted")
        return NodeVerdict(verdict, source, facts.height, False)
    raise NodeFailed(Sentence("cli.node.moving"), EXIT_UNREACHABLE)


def status_chain_id(status: dict[str, Any]) -> str:
    """The chain id a node's /v1/status gives, which a document is checked against when no
    genesis is: text of 1 to CHAIN_ID_CHARS_MAX characters, as a genesis gives it, or a
    TypeError (a malformed answer, NODE_RECORD_ERRORS). `5` or `["x"]` became a verdict
    ("issued on network 't', this is 5"), and an empty one checked a W3C VC against no
    chain at all (VALID, "chain not checked", for a revoked one)."""
    chain_id = status["chain_id"]
    if not isinstance(chain_id, str) or not 0 < len(chain_id) <= CHAIN_ID_CHARS_MAX:
        raise TypeError(f"its status gives the chain id {str(chain_id)[:80]!r}, which is no "
                        f"text of 1 to {CHAIN_ID_CHARS_MAX} characters")
    return chain_id


def _node_retired(facts: RemoteFacts, status: dict[str, Any]) -> tuple[str, int] | None:
    """The node's own member's name and the block governance retired it from, when that is
    by the block after the node's head: its peers dropped it the block before, so its chain
    stops there and a later revocation never reaches it. Read from the state the verdict
    was read from; None where it cannot be told."""
    member_id, height = status.get("member_id"), (
        facts.header.height if facts.header is not None else facts.height)
    if not isinstance(member_id, str) or height is None:
        return None
    try:
        member = facts.member(bytes.fromhex(member_id))
    except (ValueError, RemoteFactsError, StateMoved, *NODE_RECORD_ERRORS):
        return None
    if member is None or member.retired_height is None or member.retired_height > height + 1:
        return None
    return member.name, member.retired_height


def _cut_off(verdict: Verdict, node_url: str, member: str, retired: int) -> Verdict:
    """No verdict from a node governance retired: a retired university's node, still
    running, said VALID of a diploma revoked after its member left (exit 0), and "never
    issued here" of one issued since; only --max-age caught it."""
    detail = (f"this node's member, {member}, left the consortium at block {retired}: its "
              "chain stops there and later revocations never reach it; verify against "
              "another member's node")
    cut = Verdict(False, "untrusted", f"the node's answer cannot be trusted: {detail}",
                  verdict.source, [*verdict.checks, Check("node_retired", False, detail)])
    cut.facts.update(verdict.facts)
    cut.facts.update({"untrusted_because": "node_retired", "node": shown_node(node_url),
                      "node_member": member, "node_retired_height": retired})
    return cut


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

"""The W3C VC branch of `senim verify`: the standard checks, then Senim's against the
nodes given (several compared as cli.several_nodes compares a native credential's), said in
the reader's language; its pieces serve a presentation's credentials too (cli.vp)."""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.error
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import click

from cli.check_words import print_verdict_words
from cli.commands import print_verdict
from cli.deadline import Deadline
from cli.deadline_http import deadline_opener
from cli.document_lines import contents, native_or_as_is
from cli.errors import EXIT_UNREACHABLE
from cli.freshness import check_fresh, old_answer_note
from cli.language import Words
from cli.named_issuer import vc_caution, vc_issuer_checked
from cli.node_answers import RemoteFactsError, read_bounded, shown_node
from cli.online_verdict import NodeFailed, NodeVerdict, status_chain_id
from cli.remote import (
    NODE_RECORD_ERRORS,
    RemoteFacts,
    StateMoved,
    UntrustedAnswer,
    undecodable,
)
from cli.several_nodes import judged, untrusted
from cli.spoken import Sentence, reason, say
from cli.verdict_words import verdict_sentence
from ledger.genesis import Genesis
from ledger.vc.canon import remembering_loader
from ledger.vc.presentation import UNTRUSTED, HeldCheck
from ledger.vc.status_checks import StatusLookup
from ledger.vc.verify import VcVerdict, claimed_issuer, verify_vc
from ledger.vc.warning_codes import NOT_ON_CHAIN, warning_code
from ledger.verification import Check, when
from node.validators import certifies_by_keys

EXIT_INVALID = 1
MAX_STATUS_LIST_BYTES = 1 << 20
STATUS_TIMEOUT_S = 10.0
# Status lists one verify fetches at most: as many as the node looks up (node.vc_api)
STATUS_FETCHES_MAX = 8
# A verification against a node's facts (None: no chain is asked) and chain id, with
# status lists looked up by URL.
Verifying = Callable[[RemoteFacts | None, str | None, StatusLookup], VcVerdict]


def fetched_at_most(fetch: Callable[[str], dict[str, Any] | None],
                    most: int = STATUS_FETCHES_MAX) -> Callable[[str], dict[str, Any] | None]:
    """`fetch`, each URL asked once and at most `most` URLs in all (a list past them is
    said not checked): a document's status entries name the hosts this machine asks, and
    300 of them made 300 requests."""
    fetched: dict[str, dict[str, Any] | None] = {}

    def lookup(url: str) -> dict[str, Any] | None:
        if url not in fetched:
            if len(fetched) >= most:
                return None
            fetched[url] = fetch(url)
        return fetched[url]
    return lookup


def fetch_status_list(url: str, deadline: Deadline | None = None) -> dict[str, Any] | None:
    """A status list credential over HTTP(S), bounded in size and time (within the
    command's `deadline`, when it has one)."""
    if not url.startswith(("http://", "https://")):
        return None
    left = STATUS_TIMEOUT_S if deadline is None else min(STATUS_TIMEOUT_S, deadline.left())
    try:
        # The URL is the credential's: its host may trickle header lines, which only a
        # deadline on every read ends off the main thread (cli.deadline_http).
        with deadline_opener(time.monotonic() + left).open(url, timeout=left) as response:
            listed = json.loads(read_bounded(response, url, MAX_STATUS_LIST_BYTES, left))
    except (urllib.error.URLError, OSError, ValueError, RecursionError, RemoteFactsError,
            http.client.HTTPException):
        return None
    return listed if isinstance(listed, dict) else None


# cli/words' key of each warning's code (ledger.vc.warning_codes). Not not_on_chain: a VC no
# chain records is said UNCONFIRMED, in a sentence saying what that warning says, and the
# warning is dropped from under it (`unconfirmed`); the CLI reads no VC-API result.
WARNING_KEYS = {"status_list_unchecked": "cli.vc.list_unchecked",
                "challenge_not_checked": "cli.vc.challenge_not_checked",
                "status_list_not_issuers": "cli.vc.list_not_issuers",
                "chain_not_checked": "cli.vc.chain_not_checked",
                "key_not_tied": "cli.vc.key_not_tied", "status_type_unknown": "cli.vc.status_type",
                "list_only": "cli.vc.list_only", "holder_not_subject": "cli.vc.holder_not_subject"}


def vc_warning(warning: str) -> Sentence:
    """A warning of ledger.vc.verify, in words: each one known in the catalogue's, English
    too (which says, as the others do, what to do about one: the challenge to ask for);
    one no reader has words for in English as the check wrote it."""
    code, url = warning_code(warning)
    if code not in WARNING_KEYS:
        return Sentence("cli.vc.warning", warning)
    return Sentence(WARNING_KEYS[code], None, **({} if url is None else {"url": url}))


def unconfirmed(verdict: VcVerdict) -> VcVerdict:
    """A VC with a good signature that no Senim chain records is no confirmed credential:
    anyone can sign one, naming any university, with a key of their own. The VC-API still
    says it verifies (that is all a W3C verifier promises), with the warning not_on_chain;
    an employer is told it is unconfirmed, as the portal tells it, and gets exit 1."""
    detail = ("not recorded on the Senim network: only its signature was checked, and anyone "
              "can sign a credential with a key of their own, so neither its issuer nor its "
              "contents are confirmed")
    verdict.checks.append(Check("senim", False, detail))
    # the verdict says it now, and a note saying it again under it would be noise
    verdict.warnings = [warning for warning in verdict.warnings if warning != NOT_ON_CHAIN]
    verdict.valid, verdict.status = False, "unconfirmed"
    verdict.reason = f"valid signature by {verdict.issuer[:40]}…, but {detail}"
    return verdict


def untrusted_verdict(exc: UntrustedAnswer, node_url: str) -> VcVerdict:
    """The verdict of a document (or of one credential a presentation holds) whose node's
    answer about it cannot be trusted."""
    return VcVerdict(False, UNTRUSTED, f"the node's answer cannot be trusted: {exc}",
                     [Check("certified", False, str(exc))], facts=exc.verdict_facts(node_url))


def distrusting(node_url: str) -> HeldCheck:
    """A presentation's held credential verified against `node_url`'s answers, a lie found
    in them its verdict (ledger.vc.presentation.HeldCheck)."""
    def held_check(check: Callable[[], VcVerdict]) -> VcVerdict:
        try:
            return check()
        except UntrustedAnswer as exc:
            return untrusted_verdict(exc, node_url)
    return held_check


def checked_on_node(node_url: str, genesis: Genesis | None, deadline: Deadline | None,
                    senim: bool, verify: Verifying) -> tuple[VcVerdict, RemoteFacts]:
    """`verify` run against `node_url`'s chain (with `genesis`, the node's answer checked
    as a light client checks it: cli.remote); `senim`: a Senim VC is checked, so the
    chain is asked. Its state moving while read is tried again, twice. A node that gives
    no answer is NodeFailed, refusing nothing, so that one of several may fail while the
    others answer (cli.several_nodes)."""
    certified = certifies_by_keys(genesis.chain_id) if genesis else None
    for _attempt in range(3):
        facts = RemoteFacts(node_url, certified=certified, genesis=genesis, deadline=deadline)
        try:
            chain_id = None if not senim else (
                genesis.chain_id if genesis else status_chain_id(facts.get_json("/v1/status")))
            verdict = verify(None if chain_id is None else facts, chain_id,
                             fetched_at_most(lambda url: fetch_status_list(url, deadline)))
        except StateMoved:
            continue
        except UntrustedAnswer as exc:
            verdict = untrusted_verdict(exc, node_url)
        except NODE_RECORD_ERRORS as exc:
            raise NodeFailed(undecodable(exc, node_url), EXIT_UNREACHABLE) from exc
        except RemoteFactsError as exc:
            why = reason(exc, "cli.node.other", node=shown_node(node_url))
            raise NodeFailed(Sentence("cli.vc.chain_unchecked", None, node=shown_node(node_url),
                                      detail=why), EXIT_UNREACHABLE, why) from exc
        return verdict, facts
    raise NodeFailed(Sentence("cli.node.moving"), EXIT_UNREACHABLE)


def nodes_asked(nodes: Sequence[str], senim: bool) -> Sequence[str]:
    """The nodes whose answers are compared: all of them for a Senim VC (or a presentation
    holding one); for others only the first, whose chain is not read either (their verdict
    is their signature's and their issuer's status list's, fetched from where the
    credential says, the same whichever node is given)."""
    return nodes if senim else nodes[:1]


def nodes_unasked(nodes: Sequence[str], senim: bool) -> tuple[list[Sentence], dict[str, object]]:
    """Of a VC (or presentation) no chain records, checked with several nodes given: the
    line saying no node was asked, and --json's `nodes_not_asked` (before, the nodes were
    dropped unsaid, as if each had been asked and agreed)."""
    if senim or len(nodes) < 2:
        return [], {}
    shown = [shown_node(node) for node in nodes]
    return ([Sentence("cli.nodes.not_asked", None, nodes=", ".join(shown))],
            {"nodes_not_asked": shown})


def by_its_end(verdict: VcVerdict) -> VcVerdict:
    """A VC outside its validity period named by the end it is past: the VC-API's
    "expired" stands for either, and one valid only from a later date was said EXPIRED
    when its own checks failed it before any node was asked. Every verdict an officer is
    told goes through here, a node's answer (`settled`) or none."""
    if verdict.status == "expired" and verdict.facts.get("validity") == "not_yet_valid":
        verdict.status = "not_yet_valid"
    return verdict


def settled(verdict: VcVerdict, document: Any, facts: RemoteFacts, max_age_s: float | None
            ) -> VcVerdict:
    """A VC's verdict as an officer is told it: a VC no chain records is unconfirmed, one
    naming another issuer than the chain's cautioned or refused (cli.named_issuer), an
    answer older than `max_age_s` stale."""
    if verdict.valid and "senim" not in document:
        verdict = unconfirmed(verdict)
    verdict = vc_issuer_checked(by_its_end(verdict), document)
    if facts.header is not None:
        verdict.facts["as_of_height"] = facts.header.height
        verdict.facts["as_of_time"] = when(facts.header.time_ms)
        verdict = check_fresh(verdict, facts.header.time_ms, max_age_s)
    return verdict


def answer_of(verdict: VcVerdict, facts: RemoteFacts) -> NodeVerdict[VcVerdict]:
    """A node's settled verdict with the state it was read from, as cli.several_nodes
    compares answers: certified when `facts` followed its block from genesis. No height
    when the chain was not read (a VC that failed before, or one no chain records)."""
    height = facts.header.height if facts.header is not None else facts.height
    return NodeVerdict(verdict, facts.described(), height,
                       facts.header is not None and not untrusted(verdict))


def source_line(answer: NodeVerdict[VcVerdict], words: Words) -> str:
    """The node an answer came from, and the state it read (or that it read none)."""
    return f"{words.t('cli.source')}: {say(answer.source)}"


def said_after(verdict: VcVerdict, document: Any, answer: NodeVerdict[VcVerdict],
               words: Words, notes: Sequence[Sentence] = ()) -> list[str]:
    """The lines said after a settled VC verdict's checks: the caution of an issuer named
    otherwise than the chain names it, its warnings, the state it was read from (when the
    chain was), `notes` (a link's, the other nodes'), an old answer's age, and the contents
    the chain confirmed."""
    named = vc_caution(verdict)
    after = [say(named)] if named is not None else []
    after += [f"{words.t('cli.vc.note')}: {say(vc_warning(warning))}"
              for warning in verdict.warnings]
    # an untrusted answer read no state, maybe, but its node is the one to distrust
    if answer.height is not None or verdict.status == UNTRUSTED:
        after.append(source_line(answer, words))
    after += [say(note) for note in notes]
    old = old_answer_note(verdict.facts)
    if old is not None:
        after.append(say(old))
    # after the freshness check: a stale answer confirms no contents (they were listed)
    after += contents(words, verdict.status, verdict.facts, native_or_as_is(document))
    return after


def about_issuer(verdict: VcVerdict, document: Any, words: Words) -> str:
    """What the verdict's line says of a VC's issuer: the one its signature was checked
    against; when no signature check passed (an answer that cannot be trusted is a verdict
    made without one), the one it names, said as its claim ("(W3C VC)" alone read as a
    hole where the issuer should be); none, of a file that is no VC 2.0 or names no
    issuer."""
    signed = any(check.name == "signature" and check.ok for check in verdict.checks)
    if verdict.issuer and signed:
        return words.t("cli.vc.about_issuer", issuer=verdict.issuer)
    no_vc = any(check.name == "format" and not check.ok for check in verdict.checks)
    claimed = None if no_vc else verdict.issuer or claimed_issuer(document)
    if claimed:
        return words.t("cli.vc.about_claimed_issuer", issuer=claimed)
    return words.t("cli.vc.about")


def print_vc_verdict(verdict: VcVerdict, document: Any, shown: str, words: Words,
                     after: list[str]) -> None:
    """A VC's verdict, its checks and the `after` lines, in `words`' language."""
    about = " " + about_issuer(verdict, document, words)
    if words.language == "en":
        print_verdict(verdict, f"{shown}{about}", after)
    else:
        print_verdict_words(verdict, words, verdict_sentence(verdict, words),
                            f"{shown}{about}", native_or_as_is(document), after)


# What a verdict from the document's own checks names as its source, a native
# credential's too (cli.verify_command); --json gives it as `source`, in English, and the
# nodes as `nodes_not_asked`.
DOCUMENT_ALONE = Words("en").t("cli.source.document_alone")


def no_node_gave(link_notes: Sequence[Sentence]) -> list[Sentence]:
    """A link's notes for a verdict no node gave (the document's own checks failed it, and
    no node was asked or none answered): without the one saying the document "was checked
    against {node} instead" of the link's, said beside "neither was consulted"."""
    return [note for note in link_notes if note.key != "cli.link.checked_here"]


def with_own_checks(verdict: VcVerdict, alone: VcVerdict | None) -> VcVerdict:
    """A node's answer that cannot be trusted, with what the document's own checks found
    before any node was asked (`alone`, when they ran and passed): its signature and its
    issuer, which no node's lie changes. Built anew: `alone` serves every node's thread."""
    if verdict.status != UNTRUSTED or alone is None or not alone.valid:
        return verdict
    return VcVerdict(verdict.valid, verdict.status, verdict.reason,
                     [*alone.checks, *verdict.checks], list(verdict.warnings), alone.issuer,
                     dict(verdict.facts), list(verdict.credentials))


# The source of a presentation's verdict from its own checks when its nodes were asked (a
# credential in it failed its own: the chain may hold more of the others) and none answered.
DOCUMENT_ALONE_UNANSWERED = Words("en").t("cli.source.document_alone_unanswered")


def own_answer(verdict: VcVerdict, source: Sentence | None = None) -> NodeVerdict[VcVerdict]:
    """A verdict from the document's own checks, as a node's answer is shown: no state;
    `source` says so (by default: no node was asked)."""
    return NodeVerdict(verdict, source or Sentence("cli.source.document_alone"), None, False)


def print_alone(verdict: VcVerdict, document: Any, shown: str, nodes: Sequence[str],
                as_json: bool, words: Words, link_notes: Sequence[Sentence]) -> None:
    """A VC failing its own checks (before any node is asked), said with no node's word."""
    verdict = by_its_end(verdict)
    if as_json:
        click.echo(json.dumps({"file": shown, **verdict.to_json(), "source": DOCUMENT_ALONE,
                               "nodes_not_asked": [shown_node(node) for node in nodes]},
                              indent=2, ensure_ascii=False))
    else:
        answer = own_answer(verdict)
        print_vc_verdict(verdict, document, shown, words, [
            *said_after(verdict, document, answer, words, no_node_gave(link_notes)),
            source_line(answer, words)])
    sys.exit(EXIT_INVALID)


def verify_vc_file(document: Any, shown: str, nodes: Sequence[str], as_json: bool,
                   genesis: Genesis | None, max_age_s: float | None, deadline: Deadline,
                   words: Words, link_notes: Sequence[Sentence] = ()) -> None:
    """`senim verify` on a VC 2.0: the standard checks, then Senim's against the nodes
    (several compared as for a native credential: cli.several_nodes); with `genesis`, each
    node's answer is checked as a light client checks it (cli.remote). `shown`: the file's
    name, or what a link's document is called, as the verdict names it; `link_notes`: said
    after the source, for a link's document."""
    now = datetime.now(tz=UTC)
    loader = remembering_loader()  # its signature canonicalised once, however many nodes
    alone = None
    if "senim" in document:  # a node would be asked: first what needs none (its signature)
        alone = verify_vc(document, now, None, None, None, loader)
        if not alone.valid:
            print_alone(alone, document, shown, nodes, as_json, words, link_notes)

    def ask(node: str) -> NodeVerdict[VcVerdict]:
        verdict, facts = checked_on_node(
            node, genesis, deadline, "senim" in document,
            lambda chain, chain_id, lookup: verify_vc(document, now, chain, chain_id, lookup,
                                                      loader))
        verdict = with_own_checks(verdict, alone)
        return answer_of(settled(verdict, document, facts, max_age_s), facts)

    judgement = judged(ask, nodes_asked(nodes, "senim" in document), genesis is not None,
                       deadline)
    unasked, unasked_json = nodes_unasked(nodes, "senim" in document)
    verdict = judgement.shown.verdict
    if as_json:
        click.echo(json.dumps({"file": shown, **verdict.to_json(), **judgement.json_fields,
                               **unasked_json}, indent=2, ensure_ascii=False))
    else:
        print_vc_verdict(verdict, document, shown, words, said_after(
            verdict, document, judgement.shown, words,
            [*link_notes, *judgement.notes, *unasked]))
    sys.exit(0 if verdict.valid else EXIT_INVALID)

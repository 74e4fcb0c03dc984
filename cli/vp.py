"""The W3C presentation branch of `senim verify`: the holder's signature, the challenge
and domain the verifier gave the holder (--challenge, --domain), then each credential it
holds, said as `senim verify` says a VC file (cli.vc_verify). The presentation's verdict
is one sentence, the portal's (node/static/i18n `vp.*`); exit 0 only when it and every
credential in it are valid (a credential no Senim chain records is unconfirmed: exit 1,
as for a VC file)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

import click

from cli.commands import lay_out_verdict
from cli.deadline import Deadline
from cli.language import Words
from cli.node_answers import shown_node
from cli.online_verdict import NodeVerdict
from cli.several_nodes import judged
from cli.spoken import Sentence, say
from cli.vc_verify import (
    DOCUMENT_ALONE,
    DOCUMENT_ALONE_UNANSWERED,
    EXIT_INVALID,
    answer_of,
    by_its_end,
    checked_on_node,
    distrusting,
    no_node_gave,
    nodes_asked,
    nodes_unasked,
    own_answer,
    print_vc_verdict,
    said_after,
    settled,
    source_line,
    unconfirmed,
    vc_warning,
    with_own_checks,
)
from cli.verdict_words import untrusted_sentence
from ledger.genesis import Genesis
from ledger.vc.canon import remembering_loader
from ledger.vc.presentation import (
    MISMATCH_PROBLEMS,
    UNTRUSTED,
    credentials_failing,
    held_credentials,
    refuse_empty,
    verify_presentation,
)
from ledger.vc.verify import VcVerdict
from ledger.vc.warning_codes import STATUS_LIST_UNCHECKED, warning_code
from ledger.verification import Check


def is_presentation(document: Any) -> bool:
    """A W3C presentation: a JSON object whose type names VerifiablePresentation."""
    kinds = document.get("type") if isinstance(document, dict) else None
    return "VerifiablePresentation" in (kinds if isinstance(kinds, list) else [kinds])


# A proof not signed for what the verifier gave: its sentence, by its check's problem code.
MISMATCH_WORDS = {code: f"vp.{name}_mismatch" for name, code in MISMATCH_PROBLEMS.items()}


def presentation_sentence(verdict: VcVerdict, words: Words) -> str:
    """The presentation's verdict as the portal says it (portal-presentation.js)."""
    f = verdict.facts
    failed = len(failing(verdict))
    params: dict[str, Any] = {
        "signer": f.get("signer") or f.get("holder", ""), "holder": f.get("holder", ""),
        "count": f.get("credentials", len(verdict.credentials)),
        "max": f.get("credentials_max", ""), "failed": failed}
    matched = [words.t(f"vp.{name}_matched") for name in ("challenge", "domain")
               if f.get(name) == "checked"]
    if verdict.valid:
        return " ".join([words.t("vp.valid", **params), *matched])
    if verdict.status == UNTRUSTED:
        # The node lied about a credential, and none failed its own checks: the lie, then
        # what of the presentation itself held (its holder's signature, challenge, domain),
        # when the lie was found in a credential's lookup, after they were checked.
        lied = next((inner.facts for inner in verdict.credentials
                     if inner.status == UNTRUSTED), f)
        said = [untrusted_sentence(lied, words)]
        if any(check.name == "signature" and check.ok for check in verdict.checks):
            said += [words.t("cli.vp.holder_signature_holds", **params), *matched]
        return " ".join(said)
    refusals = [check for check in verdict.checks if not check.ok]
    mismatched = [MISMATCH_WORDS[check.problem] for check in refusals
                  if check.problem in MISMATCH_WORDS]
    refused = refusals[0].name if refusals else ""
    key = "vp.not_holder" if refused == "holder" else "vp.malformed"
    if mismatched:  # both said at once when neither the challenge nor the domain holds
        key = "vp.challenge_and_domain_mismatch" if len(mismatched) > 1 else mismatched[0]
    elif refused == "credentials":
        key = ("vp.too_many" if "credentials_max" in f else
               "vp.empty" if f.get("credentials") == 0 else "vp.credential_fails")
    elif refused == "signature" and verdict.status == "tampered":
        key = "vp.tampered"
    return words.t(key, **params)


# A held credential's failure that says only what is not known of it (no chain records it,
# or no node answered): named after one its own checks or its node's answer failed.
_UNCONFIRMED_ONLY = frozenset({"chain_unchecked", "unconfirmed"})


def failing(verdict: VcVerdict) -> list[VcVerdict]:
    """The credentials a presentation holds that fail as the officer is told them (each
    settled: one no chain records unconfirmed), the one to name first first: a failure of
    its own, then a node's answer that cannot be trusted, then what is only not known. The
    text's count and --json's `credentials` check are both this list's."""
    return sorted((inner for inner in verdict.credentials if not inner.valid),
                  key=lambda inner: (inner.status in _UNCONFIRMED_ONLY,
                                     inner.status == UNTRUSTED))


def counted(verdict: VcVerdict) -> VcVerdict:
    """The presentation's `credentials` check and status counted from its credentials as
    they are told: verify_presentation counted them before each was settled, and --json said
    "1 of 2 credential(s) fail" where the text said two did not pass."""
    failed = failing(verdict)
    if not failed:
        return verdict
    verdict.checks = [check for check in verdict.checks if check.name != "credentials"]
    return verdict.fail(failed[0].status, credentials_failing(failed,
                                                              len(verdict.credentials)))


def verify_vp_file(document: Any, shown: str, nodes: Sequence[str], as_json: bool,
                   genesis: Genesis | None, max_age_s: float | None, deadline: Deadline,
                   words: Words, challenge: str | None, domain: str | None,
                   link_notes: Sequence[Sentence] = ()) -> None:
    """`senim verify` on a presentation, against the nodes (several compared as for a VC
    file: cli.several_nodes). Its holder's signature, challenge and domain are checked
    alike whichever node answers; each node's answer is the presentation's verdict with
    every credential's as of that node's state, so the one shown is read from one state."""
    now = datetime.now(tz=UTC)
    held = held_credentials(document)
    senim = any(isinstance(credential, dict) and "senim" in credential for credential in held)
    loader = remembering_loader()  # its signatures canonicalised once, however many nodes
    alone, fallback = None, None
    if senim:  # a node would be asked: first what needs none (every signature in it)
        alone = refuse_empty(verify_presentation(document, now, challenge, domain, None, None,
                                                 None, loader))
        if not alone.valid and not alone.credentials:  # the presentation's own checks
            _print_presentation(alone, held, shown, own_answer(alone), words, as_json,
                                {"source": DOCUMENT_ALONE,
                                 "nodes_not_asked": [shown_node(node) for node in nodes]},
                                no_node_gave(link_notes), said_source=True)
        if not alone.valid:
            # A credential in it fails its own: the nodes are still asked what the chain
            # holds of the others, and none answering leaves that failure the verdict.
            fallback = own_answer(_unanswered(alone, held),
                                  Sentence("cli.source.document_alone_unanswered"))

    def ask(node: str) -> NodeVerdict[VcVerdict]:
        verdict, facts = checked_on_node(
            node, genesis, deadline, senim,
            lambda chain, chain_id, lookup: verify_presentation(
                document, now, challenge, domain, chain, chain_id, lookup, loader,
                held_check=distrusting(node)))
        own = alone.credentials if alone is not None else []
        verdict.credentials = [
            settled(with_own_checks(inner, own[number] if number < len(own) else None),
                    credential, facts, max_age_s)
            for number, (inner, credential) in enumerate(zip(verdict.credentials, held,
                                                             strict=False))]
        return answer_of(refuse_empty(counted(verdict)), facts)

    judgement = judged(ask, nodes_asked(nodes, senim), genesis is not None, deadline,
                       fallback)
    unasked, unasked_json = nodes_unasked(nodes, senim)
    _print_presentation(judgement.shown.verdict, held, shown, judgement.shown, words, as_json,
                        {**judgement.json_fields, **unasked_json,
                         **({"source": DOCUMENT_ALONE_UNANSWERED}
                            if judgement.shown is fallback else {})},
                        [*(no_node_gave(link_notes) if judgement.shown is fallback
                           else link_notes), *judgement.notes, *unasked],
                        said_source=judgement.shown is fallback)


# What a held Senim credential that passes its own checks is when no node answered.
CHAIN_UNCHECKED = ("its signature holds, but no node answered: whether the chain records "
                   "it, and has not revoked it, is not known")
# Its warnings that a node answering would have settled, which the verdict says already:
# the nodes were asked (no chain "to ask" was missing) and none answered.
_ANSWERED_BY_CHAIN_UNCHECKED = frozenset({"chain_not_checked", STATUS_LIST_UNCHECKED})


def _unanswered(alone: VcVerdict, held: Sequence[Any]) -> VcVerdict:
    """A presentation's verdict from its own checks, shown when no node answered: each
    Senim credential passing its own is not confirmed (it was said valid, of a diploma the
    chain may have revoked or never held); one no chain records is unconfirmed, as it is
    with a node answering. Its `credentials` check counts them, naming first a credential
    that failed its own checks. Built anew: `alone` serves every node's thread."""
    own = []
    for inner, credential in zip(alone.credentials, held, strict=False):
        if inner.valid and isinstance(credential, dict) and "senim" in credential:
            own.append(VcVerdict(
                False, "chain_unchecked", CHAIN_UNCHECKED,
                [*inner.checks, Check("on_chain", False, CHAIN_UNCHECKED)],
                [warning for warning in inner.warnings
                 if warning_code(warning)[0] not in _ANSWERED_BY_CHAIN_UNCHECKED],
                inner.issuer, dict(inner.facts)))
            continue
        copied = by_its_end(VcVerdict(inner.valid, inner.status, inner.reason,
                                      list(inner.checks), list(inner.warnings), inner.issuer,
                                      dict(inner.facts)))
        own.append(unconfirmed(copied) if inner.valid else copied)
    return counted(VcVerdict(alone.valid, alone.status, alone.reason, list(alone.checks),
                             list(alone.warnings), alone.issuer, dict(alone.facts), own))


def _print_presentation(verdict: VcVerdict, held: Sequence[Any], shown: str,
                        answer: NodeVerdict[VcVerdict], words: Words, as_json: bool,
                        json_fields: dict[str, object], notes_after: Sequence[Sentence],
                        said_source: bool = False) -> NoReturn:
    """A presentation's verdict (`answer`'s), then each credential's; exit 0 only if valid.
    `json_fields`: added to --json's; `notes_after`: said after its warnings, and after
    the answer's source when `said_source`."""
    if as_json:
        click.echo(json.dumps({"file": shown, **verdict.to_json(), **json_fields}, indent=2,
                              ensure_ascii=False))
        sys.exit(0 if verdict.valid else EXIT_INVALID)
    notes = [f"{words.t('cli.vc.note')}: {say(vc_warning(warning))}"
             for warning in verdict.warnings]
    if said_source or (verdict.status == UNTRUSTED and not verdict.credentials):
        # which node to distrust, when no credential's verdict (and its source line) names it
        notes.append(source_line(answer, words))
    lay_out_verdict(verdict.valid, presentation_sentence(verdict, words),
                    f"{words.t('cli.file')}: {shown} {words.t('cli.vp.about')}", [],
                    notes + [say(note) for note in notes_after])
    for number, (inner, credential) in enumerate(zip(verdict.credentials, held, strict=False),
                                                 start=1):
        click.echo()
        click.echo(words.t("cli.vp.credential", n=number, count=len(verdict.credentials)))
        print_vc_verdict(inner, credential, shown, words,
                         said_after(inner, credential, answer, words))
    sys.exit(0 if verdict.valid else EXIT_INVALID)

"""The public pool's checks of submitted transactions, each against one committed view.

A mixin of `node.service.NodeCore`, kept apart so that each module stays readable: these
run on a public pool thread (node.public_work), read only a store snapshot
(`CommittedView`) and write only to scratch state; admitting what passes is the
service's, on the event loop.
"""

from __future__ import annotations

import time

from ledger.block_state import BlockState
from ledger.chain import Chain
from ledger.errors import BadSignature, MalformedInput, TxRejected
from ledger.records import Member
from ledger.rules import (
    BlockContext,
    apply_transaction,
    block_context,
    check_before_signature,
    check_envelope,
    check_signature,
)
from ledger.transactions import Transaction
from node.earlier_keys import EarlierKeyTrials
from node.public_work import (
    INVALID_SIGNATURES_PER_SUBMISSION_MAX,
    CommittedView,
    ForgedSubmission,
    ScratchState,
)
from node.signature_workers import CheckSignatures
from node.submission_body import decoded_or_refused, submission_parts
from node.validators import SignatureCheck


class SubmissionChecks:
    chain: Chain
    chain_id: str
    check_signatures: CheckSignatures  # a submission's, in one batch

    def _next_block(self, view: CommittedView) -> BlockContext:
        return block_context(view.state, self.chain_id, view.height + 1,
                             int(time.time() * 1000), self.chain.evidence_check)

    def _check_in_view(self, tx: Transaction, view: CommittedView, ctx: BlockContext,
                       signature_checked: bool = False, sender: Member | None = None
                       ) -> Transaction:
        """Check `tx` against one committed block, in the public pool: it reads only
        `view` (a store snapshot, see node.public_work) and writes only to a scratch
        dict. `ctx`: `_next_block(view)`, made once for the many checked in one view
        (its reads and its clock are the same for each; the block is executed under its
        own). `sender`: what `check_before_signature` returned for `tx` in this `view`
        and `ctx`, if it was called already (then its reads are not made twice)."""
        scratch = ScratchState(view.state, presume_absence=True)
        try:
            self._trial(tx, ctx, view, scratch, signature_checked, sender)
        except TxRejected:
            if not scratch.presumed_absent:
                raise
            # confirm it, checked
            self._trial(tx, ctx, view, ScratchState(view.state), signature_checked, sender)
        return tx

    @staticmethod
    def _trial(tx: Transaction, ctx: BlockContext, view: CommittedView,
               scratch: ScratchState, signature_checked: bool = False,
               sender: Member | None = None) -> None:
        # The records this trial reads of the snapshot are the view's, decoded once for
        # every trial in it, until its first write.
        state = BlockState(scratch, view.kept)
        if sender is None:
            sender = check_envelope(state, tx, ctx, view.is_committed, signature_checked)
        else:
            check_signature(sender, tx, ctx, signature_checked)
        apply_transaction(state, tx, sender, ctx)

    def _refused_now(self, txs: list[Transaction]) -> list[TxRejected | None]:
        """Public pool: why the state as committed now refuses each of `txs`, or None;
        their signatures were just checked (a sender whose key rotated is checked
        again by `check_envelope`)."""
        verdicts: list[TxRejected | None] = []
        with CommittedView(self.chain) as view:
            ctx = self._next_block(view)
            for tx in txs:
                try:  # as admission checks: absence presumed, a refusal confirmed
                    self._check_in_view(tx, view, ctx, signature_checked=True)
                except TxRejected as exc:
                    verdicts.append(exc)
                else:
                    verdicts.append(None)
        return verdicts

    def _check_many(self, items: list[bytes], relayed: bool = False,
                    ids: list[bytes | None] | None = None
                    ) -> tuple[list[Transaction | TxRejected], int]:
        """Check each item against one snapshot (public pool thread), and say which
        block that was. A submission that shows too many invalid signatures is forged:
        ForgedSubmission, nothing kept. Items are decoded and checked a part at a time,
        the first part small, so that a forged submission is found after a few hundred
        transactions rather than after all of them are decoded and handed for checking.
        `relayed`: the items are a peer's gossip (see `submit`). `ids`: each item's
        `tx_id_of_encoded`, if known (not hashed again in decoding)."""
        outcomes: list[Transaction | TxRejected] = []
        forged = 0
        with CommittedView(self.chain) as view:
            trials = EarlierKeyTrials(view.state, self.chain_id) if relayed else None
            for start, end in submission_parts(len(items)):
                decoded = ([decoded_or_refused(data) for data in items[start:end]]
                           if ids is None else
                           [decoded_or_refused(data, tx_id) for data, tx_id in
                            zip(items[start:end], ids[start:end], strict=True)])
                allowance = INVALID_SIGNATURES_PER_SUBMISSION_MAX - forged
                ctx = self._next_block(view)
                for outcome, (sender, signature_good) in zip(
                        decoded, self._senders_and_signatures(decoded, view, ctx, allowance),
                        strict=True):
                    if isinstance(outcome, TxRejected):  # did not decode
                        outcomes.append(outcome)
                        continue
                    if isinstance(sender, TxRejected):  # refused before its signature
                        outcomes.append(sender)
                        continue
                    try:
                        outcomes.append(self._check_in_view(outcome, view, ctx,
                                                            signature_good, sender))
                    except MalformedInput as exc:
                        outcomes.append(TxRejected("malformed", str(exc),
                                                   **exc.refusal_params()))
                    except TxRejected as exc:
                        if (isinstance(exc, BadSignature) and trials is not None
                                and sender is not None):
                            exc = trials.judge(outcome, sender, exc)
                        outcomes.append(exc)
                        forged += exc.code == "bad_signature"
                        if forged >= INVALID_SIGNATURES_PER_SUBMISSION_MAX:
                            raise ForgedSubmission(forged, len(outcomes), len(items), tuple(
                                (o.sender, o.key) for o in outcomes
                                if isinstance(o, BadSignature) and o.bad_for_nodes_behind)
                            ) from None
            return outcomes, view.height

    def _senders_and_signatures(self, txs: list[Transaction | TxRejected],
                                view: CommittedView, ctx: BlockContext, failures_max: int
                                ) -> list[tuple[Member | TxRejected | None, bool]]:
        """For each of `txs`: its sender, or the envelope's refusal before any signature
        (say a replay, which anyone can copy off the chain: it costs no check); and
        whether its signature is good under the sender's key in `view`, checked in one
        batch (in a child process, in the daemon). False also means not checked: the
        batch stops after `failures_max` bad signatures (what would make the submission
        forged), and the envelope check then checks the rest itself, as it does a sender
        that rotated."""
        senders: list[Member | TxRejected | None] = [None] * len(txs)
        good = [False] * len(txs)
        # Never written: its senders' records are kept for the whole view.
        records = BlockState(ScratchState(view.state), view.kept)
        checks: list[SignatureCheck] = []
        positions: list[int] = []
        for position, tx in enumerate(txs):
            if isinstance(tx, TxRejected):
                continue
            try:
                sender = check_before_signature(records, tx, ctx, view.is_committed)
            except TxRejected as refusal:
                senders[position] = refusal
                continue
            senders[position] = sender
            if sender.key_rotated_height is None:
                positions.append(position)
                checks.append((sender.public_key, tx.signed_message(self.chain_id),
                               tx.signature))
        if checks:
            answers = self.check_signatures(checks, failures_max)
            for position, answer in zip(positions, answers, strict=False):
                good[position] = answer
        return list(zip(senders, good, strict=True))

"""An issuing job in a registrar's folder: files first, chain second, resumable from any state.

States, each recorded durably in DIR/manifest.json before the next step starts:

- ``preparing``: the input, type and key are recorded; credential files are being
  written (cli/job_folder.py). No transaction is kept and none was sent, so a resume
  rewrites the files from the input.
- ``prepared``: every credential file is on disk (0600) and the signed batch
  transaction is kept in the manifest. Not yet sent, unless ``sent_before``: signed
  anew after an earlier transaction of the batch was sent and expired; such a job is
  never taken for one that sent nothing (cli.job_folder.never_sent).
- ``submitted``: the transaction may have reached a node. A resume asks the chain
  for the batch and the transaction, and resends the same bytes if the node has
  never seen them.
- ``committed``: the batch is on chain; the manifest holds its height and block.
  Its ``registered`` names the issued-students registry once the job's students
  are recorded there (cli/job_registration.py); a resume records a job not yet recorded.
- ``refused``: the ledger refused the transaction after an earlier submission; a
  resume tries the same transaction again (e.g. once accreditation is granted).

A credential can therefore never be on chain without its file on disk, and one
batch is only ever sent as one transaction (re-signed only once the first has
expired, when it can no longer commit, and the node that said so does not hold the
batch; the ledger also refuses a second batch with the same root).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, Protocol

from cli.client import (
    BUSY,
    EXPIRY_WINDOW_BLOCKS,
    READ_RETRY_AFTER_S,
    ClientError,
    not_taken,
    refusal_params,
)
from cli.errors import EXIT_PENDING
from cli.job_folder import (
    MANIFEST_NAME,
    JobError,
    crash_point,
    discard_credentials,
    load_manifest,
    never_sent,
    save_manifest,
)
from cli.language import Words, catalogue
from cli.node_answers import NO_ROUTE_STATUSES
from cli.refusals import refusal
from cli.spoken import Sentence, say
from ledger.identity import KeyPair, member_id_of
from ledger.payloads import IssueBatchPayload
from ledger.transactions import build_transaction

QUIET_BEFORE_REPORT_S = 3.0  # a batch usually commits sooner; after this, say why not
REPORT_EVERY_S = 10.0
POLL_S = 2.0  # long-poll step, so a lost quorum is reported while waiting
# Refusals that say "not now" rather than "never": the job stays submitted.
TRANSIENT_REFUSALS = ("mempool_full", "sender_limit", BUSY)


class JobPending(JobError):
    """Not committed yet; nothing is lost and `--resume` finishes the job."""

    def __init__(self, message: str | Sentence) -> None:
        super().__init__(message, EXIT_PENDING)


class StatusSource(Protocol):
    """What signing a batch needs of a node: its chain id and height."""

    def status(self) -> dict[str, Any]: ...


class JobNode(StatusSource, Protocol):
    """What a job needs of a node (cli.client.NodeClient; tests may pass a double)."""

    def submit_encoded(self, data: bytes) -> str: ...
    def transaction_status(self, tx_id: str, wait_s: float = 0.0) -> dict[str, Any]: ...
    def batch(self, issuer_hex: str, root_hex: str) -> dict[str, Any] | None: ...
    def block(self, height: int) -> dict[str, Any]: ...


Say = Callable[[str], None]


def sign_batch(node: StatusSource, keys: KeyPair, credential_type: str, batch_root: bytes,
               count: int) -> tuple[bytes, str, int]:
    status = node.status()
    expires_at = int(status["height"]) + EXPIRY_WINDOW_BLOCKS
    tx = build_transaction(keys, status["chain_id"],
                           IssueBatchPayload(credential_type, batch_root, count), expires_at)
    return tx.encode(), tx.tx_id.hex(), expires_at


# ---- submitting and waiting ------------------------------------------------------------------
def pending_sentence(status: dict[str, Any]) -> Sentence:
    """Why a batch is not committing, from one node's view of its peers."""
    me = status.get("member_id")
    reachable = {member_id_of(bytes.fromhex(p["public_key"])).hex()
                 for p in status.get("peers", []) if p.get("authenticated") and p.get("public_key")}
    validators = status.get("validators", [])
    missing = [v["name"] for v in validators
               if v["member_id"] != me and v["member_id"] not in reachable]
    consensus = status.get("consensus", {})
    if missing:
        total = len(validators)
        quorum = total - (total - 1) // 3
        return Sentence(
            "issue.pending.unreachable", f"batch pending: {len(missing)} of {total} "
            f"validators unreachable from node {status.get('node')}: {', '.join(missing)}. "
            f"{quorum} are needed; the batch will commit when they return",
            count=len(missing), total=total, node=status.get("node"),
            names=", ".join(missing), quorum=quorum)
    return Sentence("issue.pending.reachable", f"batch pending: every validator is reachable; "
                    f"consensus at height {status.get('height')}, view "
                    f"{consensus.get('view', '?')}, phase {consensus.get('phase', '?')}",
                    height=status.get("height"), view=consensus.get("view", "?"),
                    phase=consensus.get("phase", "?"))


class IssueJob:
    """Drives one job folder from its recorded state to committed."""

    def __init__(self, job_dir: Path, node: JobNode, say: Say, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.job_dir = job_dir
        self.node = node
        self.say = say
        self.clock = clock  # the wait's deadline is on this clock, and `sleep` passes it
        self.sleep = sleep
        self.manifest = load_manifest(job_dir)

    @property
    def state(self) -> str:
        return str(self.manifest["state"])

    def _save(self, **changes: Any) -> None:
        self.manifest.update(changes)
        save_manifest(self.job_dir, self.manifest)

    def run(self, timeout_s: float, resign: Callable[[], tuple[bytes, str, int]] | None = None
            ) -> dict[str, Any]:
        """Submit if needed and wait; returns the issuance facts once committed.

        Raises JobPending if time runs out (the folder stays resumable) and
        JobError for a refusal."""
        if self.state == "committed":
            return dict(self.manifest["issuance"])
        if self.state == "preparing":
            raise JobError(Sentence("issue.job.stopped_writing", "the job stopped while writing "
                                    "its files; resume it with its input"))
        first_send = never_sent(self.manifest)
        on_chain = None if first_send else self.node.batch(self.manifest["issuer"],
                                                           self.manifest["batch_root"])
        if on_chain is not None:
            return self._committed_from_batch(on_chain)
        deadline = self.clock() + timeout_s
        # "unknown" is the node's own word (its 404 with the status) that it never saw the
        # batch, or lost it: the same bytes go again. A proxy's bare 404 is no such word;
        # transaction_status raises it, and nothing is sent on it.
        if first_send or self.node.transaction_status(self.manifest["tx_id"])["status"] in (
                "unknown", "rejected"):
            on_chain = self._submit(first_send, resign)
            if on_chain is not None:
                return self._committed_from_batch(on_chain)
        return self._wait(deadline, resign)

    def _submit(self, first_send: bool, resign: Callable[[], tuple[bytes, str, int]] | None
                ) -> dict[str, Any] | None:
        """Send the kept transaction; the batch on chain if its refusal showed it there."""
        # Recorded before the bytes leave: a crash after this line may have sent them.
        self._save(state="submitted")
        crash_point("submitting")
        try:
            self.node.submit_encoded(bytes.fromhex(self.manifest["tx"]))
        except ClientError as exc:
            return self._handle_refusal(exc, first_send, resign)
        crash_point("submitted")
        return None

    def _handle_refusal(self, exc: ClientError, first_send: bool,
                        resign: Callable[[], tuple[bytes, str, int]] | None
                        ) -> dict[str, Any] | None:
        """The POST of the batch failed with `exc`; the batch on chain if it is there."""
        if not not_taken(exc) or exc.code in TRANSIENT_REFUSALS:
            # sent or not, it was not confirmed: `--resume` asks the chain which. A bare
            # status (a proxy's) or the node's own 5xx may come after it took the batch.
            raise JobPending(_unconfirmed(exc))
        if exc.code in ("replayed", "duplicate", "duplicate_batch"):
            return None  # committed or pending already: the wait finds out which
        if exc.code == "expired" and not first_send:
            # The ledger checks expiry before replay, so a transaction committed in its
            # last allowed block and sent again is answered expired. The node saying so
            # holds every block up to its expiry: its answer on the batch is final.
            on_chain = self.node.batch(self.manifest["issuer"], self.manifest["batch_root"])
            if on_chain is not None:
                return on_chain
        if exc.code == "expired" and resign is not None:
            return self._resign(resign, first_send)
        if first_send:
            # Never admitted anywhere: no credential of this folder can ever be valid.
            discard_credentials(self.job_dir)
            (self.job_dir / MANIFEST_NAME).unlink()
            raise JobError(Sentence("issue.job.refused_first", f"the node refused the batch: "
                                    f"{_in_english(exc)}; nothing was issued and its "
                                    "credential files were removed", why=_why(exc)))
        self._refused(exc)

    def _rejected(self, result: dict[str, Any],
                  resign: Callable[[], tuple[bytes, str, int]] | None) -> dict[str, Any] | None:
        """The node's own verdict on the kept transaction, `rejected`, its batch not on
        chain: it can never commit. An expired one is signed anew (the batch on chain if
        sending that showed it there); any other refusal leaves the folder for a resume."""
        code = str(result.get("code"))
        if code == "expired" and resign is not None:
            return self._resign(resign, first_send=False)
        params = refusal_params(result.get("params"))
        self._refused(ClientError(_rejection(code, result.get("reason"), params), code,
                                  params=params))

    def _resign(self, resign: Callable[[], tuple[bytes, str, int]], first_send: bool
                ) -> dict[str, Any] | None:
        # The kept transaction can never commit now and its batch is not on chain, so a
        # new one cannot double it. Unless it expired at its first sending it was sent:
        # a refusal of the new one keeps the folder, and `sent_before` says it was sent.
        tx, tx_id, expires_at = resign()
        self._save(state="prepared", sent_before=not first_send, tx=tx.hex(), tx_id=tx_id,
                   expires_at=expires_at)
        self.say(say(Sentence("issue.job.resigned", f"the kept transaction expired before it "
                              f"committed; signed a new one ({tx_id[:16]}…)", tx=tx_id[:16])))
        return self._submit(first_send, None)

    def _refused(self, exc: ClientError) -> NoReturn:
        """The ledger refused a batch that may have been admitted before: the folder keeps
        it, as a resume may yet commit it (once the accreditation is granted, say)."""
        self._save(state="refused", refusal={"code": exc.code, "reason": str(exc)})
        raise JobError(Sentence("issue.job.refused", f"the node refused the batch: "
                                f"{_in_english(exc)}; it is not on chain. The folder keeps the "
                                f"transaction: `senim issue --resume {self.job_dir}` tries it "
                                "again", why=_why(exc), path=self.job_dir))

    def _wait(self, deadline: float, resign: Callable[[], tuple[bytes, str, int]] | None
              ) -> dict[str, Any]:
        started = self.clock()
        last_report = started - REPORT_EVERY_S
        resent = False
        while True:
            remaining = deadline - self.clock()
            unreached: ClientError | None = None
            try:
                result = self.node.transaction_status(self.manifest["tx_id"],
                                                      max(0.0, min(POLL_S, remaining)))
            except ClientError as exc:
                if exc.bare and exc.status in NO_ROUTE_STATUSES:
                    # What stands before the node answers for it (NodeClient._proxys_404):
                    # asked again, it gives the same page to the end of --timeout, and
                    # only then was the job said pending. The batch was sent, and may
                    # commit: the folder stays as it is, for --resume.
                    raise JobPending(_proxy_answered(exc)) from exc
                result = {"status": "unreachable", "reason": str(exc)}
                unreached = exc
                # A busy or unreachable node answers at once, not after the long-poll:
                # asking again straight away would flood it for the whole --timeout
                # (NodeClient.wait pauses after a busy node too).
                self.sleep(max(0.0, min(READ_RETRY_AFTER_S, deadline - self.clock())))
            status = result["status"]
            if status == "committed":
                crash_point("seen-committed")
                return self._committed(result)
            if status == "rejected":
                on_chain = self.node.batch(self.manifest["issuer"], self.manifest["batch_root"])
                if on_chain is not None:
                    return self._committed_from_batch(on_chain)
                # returns only once it signed anew: at most once a run, so a node calling
                # every batch expired is said refused
                on_chain, resign = self._rejected(result, resign), None
                if on_chain is not None:
                    return self._committed_from_batch(on_chain)
            elif status == "unknown" and not resent:
                # This node lost it (e.g. restarted with an empty mempool): same bytes again.
                resent = True
                on_chain = self._submit(False, resign)
                if on_chain is not None:
                    return self._committed_from_batch(on_chain)
            now = self.clock()
            if now >= deadline:
                why = str(result.get("reason", status))
                raise JobPending(Sentence("issue.pending.not_yet", f"the batch is submitted "
                                          f"but not committed yet ({why})",
                                          why=_not_yet(status, why, unreached)))
            if now - started >= QUIET_BEFORE_REPORT_S and now - last_report >= REPORT_EVERY_S:
                last_report = now
                try:
                    self.say(say(pending_sentence(self.node.status())))
                except ClientError as exc:
                    self.say(say(Sentence("issue.pending.silent", f"batch pending; the node "
                                          f"does not answer: {exc}", why=str(exc))))

    def _committed_from_batch(self, on_chain: dict[str, Any]) -> dict[str, Any]:
        return self._committed({"tx_id": on_chain["tx_id"], "height": on_chain["height"],
                                "time": on_chain["time"]})

    def _committed(self, result: dict[str, Any]) -> dict[str, Any]:
        block_hash = result.get("block_hash")
        if block_hash is None:
            block_hash = self.node.block(int(result["height"]))["hash"]
        issuance = {"tx_id": result["tx_id"], "height": result["height"],
                    "block_hash": block_hash, "time": result["time"]}
        self._save(state="committed", on_chain=True, issuance=issuance, refusal=None,
                   note=f"on chain at height {issuance['height']}")
        crash_point("committed")
        return issuance


def _not_yet(status: str, english: str, unreached: ClientError | None) -> Sentence:
    """Why the batch is not on chain yet, at the deadline: the node's last word on it
    (pending, unknown to it), or why it could not be asked; in English as it was."""
    if unreached is not None:
        return unreached.sentence or Sentence("issue.node.error", english, why=english)
    key = f"issue.pending.status.{status}"
    if key in catalogue("en"):
        return Sentence(key, english)
    return Sentence("issue.pending.status.other", english, status=english)  # as it said it


def _proxy_answered(exc: ClientError) -> Sentence:
    """Where the batch is, unsaid: something between this computer and the node gave
    the answer (cli.node.not_from_node), as a resume meeting the same answer says it."""
    return Sentence("issue.pending.lost", f"the node did not say where the batch is: {exc}",
                    why=exc.sentence or str(exc))


def _unconfirmed(exc: ClientError) -> Sentence:
    """Why a batch sent may or may not have reached the node. A bare status other than
    busy (a 413, a 403: no error of a Senim node's in it) is said as every command says
    it, as cli.node_answers says it (a proxy's, or its status alone), and not as the
    node's words: a resume meets the same answer until whoever runs that lets the batch
    through."""
    if exc.bare and exc.code != BUSY:
        return Sentence("issue.pending.in_between", f"the batch was not confirmed: {exc}; "
                        "whether the batch reached the node is unknown", why=_why(exc))
    return Sentence("issue.pending.unconfirmed", f"the node did not confirm the batch: {exc}",
                    why=_why(exc))


def _rejection(code: str, reason: object, params: dict[str, str | int]) -> str | Sentence:
    """A `rejected` status as its ClientError says it. A code this release has words for:
    in English the node's reason (its code's sentence when it gave none), and that
    sentence in the other languages (`_why`). Any other: issue.node.rejected in every
    language, the node's reason left out, as the other languages cannot say it."""
    if f"refusal.{code}" not in catalogue("en"):
        return Sentence("issue.node.rejected", code=code)
    if isinstance(reason, str):
        return reason
    said = refusal(code, "", params)
    return Sentence(said.key, **said.params).said(Words("en"))


def _in_english(exc: ClientError) -> str:
    """A refusal as the command line's English says it: the node's own message with its
    code beside it, or a sentence of senim's own (a rejection it has no words for), which
    names the code, as the catalogue says it."""
    if exc.sentence is not None and exc.sentence.english is None:
        return str(exc)
    return f"{exc} ({exc.code})"


def _why(exc: ClientError) -> Sentence:
    """What the node said, as the registrar's language says it (its code included): a
    refusal code's sentence, naming what the node named (cli.refusals)."""
    if f"refusal.{exc.code}" in catalogue("en"):
        return Sentence("issue.node.rejected_why", str(exc), code=exc.code,
                        why=refusal(exc.code, str(exc), exc.params))
    return exc.sentence or Sentence("issue.node.rejected", str(exc), code=exc.code)

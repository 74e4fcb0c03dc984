"""Each row of an export checked against the issuer's registry of issued students
(registrar.issued): a student already issued this type, or named by an unfinished job,
is a problem of that row, said as a phrase the registrar's language says."""

from __future__ import annotations

from pathlib import Path

from cli.job_folder import JOB_STATES, JobError, NoJob, load_manifest
from registrar.headers import field_label
from registrar.issued import Earlier, IssuedRegistry
from registrar.phrases import Phrase, phrase


class IssuedCheck:
    """Asked by validation about every unique value of every row.

    In a correction job a row naming an issued student is not a problem: it is kept
    in `corrected` (row -> the credential it corrects)."""

    def __init__(self, registry: IssuedRegistry | None, credential_type: str,
                 chain_id: str | None, corrections: bool, job: Path | None = None) -> None:
        self.registry = registry
        self.credential_type = credential_type
        self.chain_id = chain_id
        self.corrections = corrections
        self.job = job.resolve() if job is not None else None  # this check's own job folder
        self.corrected: dict[int, Earlier] = {}
        self._states: dict[str, str | None] = {}

    @property
    def _a_type(self) -> str:
        article = "an" if self.credential_type[:1] in "aeiou" else "a"  # an attestat
        return f"{article} {self.credential_type}"

    @property
    def _type(self) -> Phrase:
        return phrase(f"type.{self.credential_type}", self.credential_type)

    def _unfinished(self, earlier: Earlier) -> str | None:
        """The state of a pending entry's job when that job may still put it on chain."""
        if earlier.job not in self._states:
            try:
                state: str | None = str(load_manifest(Path(earlier.job))["state"])
            except NoJob:
                state = None  # removed, or refused at its first send: nothing was sent
            except JobError:  # it may have sent its batch: its students stay taken
                state = "unknown: its manifest cannot be used"
            self._states[earlier.job] = state
        state = self._states[earlier.job]
        if Path(earlier.job) == self.job or state in (None, "preparing"):
            return None
        return state

    def __call__(self, row: int, field: str, value: str) -> Phrase | None:
        if self.registry is None:
            return None
        earlier = self.registry.find(self.credential_type, field, value, self.chain_id)
        if earlier is None:
            return None
        if earlier.pending:
            state = self._unfinished(earlier)
            if state is None:
                return None
            if state == "committed":  # stopped between its commit and the registry's record
                return phrase("issue.issued.unrecorded", f"{self._a_type} for this {field} is "
                              f"on chain in the job {earlier.job}, whose students were not yet "
                              "recorded as issued (it was stopped after its commit): finish "
                              f"that job first with senim issue --resume {earlier.job}",
                              type=self._type, label=field_label(field), job=earlier.job)
            return phrase("issue.issued.unfinished", f"{self._a_type} for this {field} is in "
                          f"the unfinished job {earlier.job} (state {state}), which may be on "
                          f"chain already: finish that job first with senim issue --resume "
                          f"{earlier.job}", type=self._type, label=field_label(field),
                          job=earlier.job, state=phrase(f"issue.job_state.{state}", state)
                          if state in JOB_STATES else state)
        if self.corrections:
            self.corrected.setdefault(row, earlier)
            return None
        chain: Phrase | str = "" if self.chain_id is not None else phrase(
            "issue.issued.chain", f" of chain {earlier.chain_id!r}", chain=earlier.chain_id)
        return phrase("issue.issued.already", f"{self._a_type} was already issued to this "
                      f"{field} (job {earlier.job}{chain}, batch {earlier.batch_root[:16]}…, "
                      f"height {earlier.height}); to correct it, issue with --corrections and "
                      "then supersede the old credential", type=self._type,
                      label=field_label(field), job=earlier.job, chain=chain,
                      batch=earlier.batch_root[:16], height=earlier.height)

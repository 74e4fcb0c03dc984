"""Each row of an export checked against the issuer's registry of issued students
(registrar.issued): a student already issued this type, or named by an unfinished job,
is a problem of that row, said as a phrase the registrar's language says."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cli.job_folder import JOB_STATES, JobError, NoJob, load_manifest, never_sent
from registrar.export import ExportResult
from registrar.headers import field_label
from registrar.issued import Earlier, IssuedRegistry
from registrar.phrases import Phrase, phrase
from registrar.validate import Taken


class IssuedCheck:
    """Asked by validation about every unique value of every row.

    In a correction job a sound row naming an issued student is not a problem: it is
    kept in `corrected` (row -> the credential it corrects); a refused row is not, since
    it would not be issued."""

    def __init__(self, registry: IssuedRegistry | None, credential_type: str,
                 chain_id: str | None, corrections: bool, job: Path | None = None, *,
                 unique: tuple[str, ...]) -> None:
        self.registry = registry
        self.unique = unique  # the schema's unique fields, its IIN first
        self.credential_type = credential_type
        self.chain_id = chain_id
        self.corrections = corrections
        self.job = job.resolve() if job is not None else None  # this check's own job folder
        self.corrected: dict[int, Earlier] = {}
        # corrections giving their credential another IIN (row -> that field), its student
        # id held: said before the job is sent, as the registrar cannot see it in the file
        self.changed: dict[int, str] = {}
        # rows refused for a student issued before, or in an unfinished job: the last
        # line's advice follows them (cli.issue_words.taken_fix)
        self.issued_rows: set[int] = set()
        self.unfinished_rows: set[int] = set()
        # rows whose student id a job never sent holds with another IIN: that job's folder
        # may be deleted, so "--resume" is no advice for them (cli.issue_words.taken_fix)
        self.unsent_rows: set[int] = set()
        # each job that never sent its batch and holds a student id this export gives with
        # another IIN, and the first such row: its other rows say so (`settled`)
        self.unsent_changed: dict[str, int] = {}
        # the phrase of each row's value held by a job that sent nothing: its field, its job
        self._unsent_held: dict[tuple[int, Phrase], tuple[str, Earlier]] = {}
        self._states: dict[str, str | None] = {}
        self._never_sent: set[str] = set()  # jobs whose manifest says nothing was sent

    @property
    def _a_type(self) -> str:
        article = "an" if self.credential_type[:1] in "aeiou" else "a"  # an attestat
        return f"{article} {self.credential_type}"

    @property
    def _type(self) -> Phrase:
        return phrase(f"type.{self.credential_type}", self.credential_type)

    def _unfinished(self, earlier: Earlier) -> str | None:
        """The state of a pending entry's job when that job may still put it on chain
        (None: it cannot, or it is this check's own job), "committed" among them: a job
        stopped after its commit, before its students were recorded as issued."""
        if earlier.job not in self._states:
            try:
                manifest = load_manifest(Path(earlier.job))
                state: str | None = str(manifest["state"])
                if never_sent(manifest):
                    self._never_sent.add(earlier.job)
            except NoJob:
                state = None  # removed, or refused at its first send: nothing was sent
            except JobError:  # it may have sent its batch: its students stay taken
                state = "unknown: its manifest cannot be used"
            self._states[earlier.job] = state
        state = self._states[earlier.job]
        if Path(earlier.job) == self.job or state in (None, "preparing"):
            return None
        return state

    def _unsent(self, earlier: Earlier) -> bool:
        """Whether `earlier` is in a job that may still put it on chain but has sent
        nothing yet (prepared for its first send: cli.job_folder.never_sent)."""
        return self._unfinished(earlier) == "prepared" and earlier.job in self._never_sent

    def _holder(self, field: str, value: str) -> Earlier | None:
        """The credential this value is recorded in, if it is issued or may still be."""
        earlier = self.registry.find(self.credential_type, field, value, self.chain_id) \
            if self.registry is not None else None
        if earlier is not None and earlier.pending and self._unfinished(earlier) is None:
            return None
        return earlier

    def __call__(self, row: int, values: dict[str, str], sound: bool) -> list[Taken]:
        """Each of a row's unique values the registry holds, as a problem; none for a
        correction of a sound row (kept in `corrected`)."""
        held = {field: earlier for field, value in values.items()
                if (earlier := self._holder(field, value)) is not None}
        if not held:
            return []
        field, earlier = next(iter(held.items()))
        unheld = [name for name in values if name not in held]
        if len({(e.chain_id, e.job, e.credential) for e in held.values()}) > 1:
            # each value issued to another student: neither credential is this row's
            other = next(name for name in held if held[name] != earlier)
            return [(field, "issued-mismatch", self._mismatch(field, other, earlier))]
        if unheld and self._recorded_otherwise(earlier, values):
            # The earlier credential holds another value of a field this row gives. Its
            # IIN with another student id is a mistyped IIN naming someone else, whose
            # credential must not be superseded by this row's (nor this row left out); its
            # student id with another IIN is that student's IIN corrected, in a correction.
            changes_iin = unheld == list(self.unique[:1])
            if changes_iin and earlier.pending and self._unsent(earlier):
                # Its batch never left (a send is recorded as "submitted" before it goes):
                # resuming would issue the IIN this row says is wrong, and deleting the
                # folder frees its students (_unfinished: a removed job sent nothing).
                self.unsent_rows.add(row)
                self.unsent_changed.setdefault(earlier.job, row)
                return [(field, "already-issued", self._changed_unsent(
                    field, unheld[0], earlier))]
            if changes_iin and earlier.pending:
                # Its job may still commit: only once it is finished can this row correct
                # that credential (or be found a mistyped IIN), so finishing it comes first.
                self.unfinished_rows.add(row)
                return [(field, "already-issued", self._changed_unfinished(
                    field, unheld[0], earlier))]
            if changes_iin and self.corrections:
                if sound:
                    self.corrected.setdefault(row, earlier)
                    self.changed[row] = unheld[0]
                return []
            return [(field, "issued-mismatch", self._mismatch(field, unheld[0], earlier)
                     if not changes_iin else self._changed(field, unheld[0], earlier))]
        if all(not earlier.pending for earlier in held.values()):
            if self.corrections:
                if sound:
                    self.corrected.setdefault(row, earlier)
                return []
            self.issued_rows.add(row)
        else:
            self.unfinished_rows.add(row)
        taken: list[Taken] = []
        for field, earlier in held.items():
            said = self._said(field, earlier)
            if earlier.pending and self._unsent(earlier):
                self._unsent_held[(row, said)] = (field, earlier)
            taken.append((field, "already-issued", said))
        return taken

    def settled(self, result: ExportResult) -> ExportResult:
        """`result` with each row of a job that sent nothing, when another row of the
        export gives one of its student ids with another IIN, pointing to that row: the
        row decides whether the job is deleted or resumed (`--resume` alone would issue
        the IIN that row calls wrong). Known only once every row has been read."""
        if not self.unsent_changed:
            return result
        problems = []
        for problem in result.problems:
            held = None if problem.row is None or problem.said is None \
                else self._unsent_held.get((problem.row, problem.said))
            if held is not None and held[1].job in self.unsent_changed:
                said = self._unsent_other_row(*held)
                problem = replace(problem, message=str(said), said=said)
            problems.append(problem)
        return replace(result, problems=problems)

    def _recorded_otherwise(self, earlier: Earlier, values: dict[str, str]) -> bool:
        """Whether `earlier` was recorded with another value of a field `values` gives.

        The registry keeps keyed hashes, not fields: each of the credential's hashes
        these values do not give is another value of one of its unique fields, either
        one these values give or one they lack. Only more such hashes than fields lacked
        prove a field given differs; a credential issued without a student id (an
        optional field) is the same student's, given one now."""
        if self.registry is None:  # never: `earlier` was found in it
            return False
        given = {self.registry.digest(self.credential_type, name, value)
                 for name, value in values.items()}
        others = self.registry.recorded_values(earlier) - given
        return len(others) > len(self.unique) - len(values)

    def changes_said(self) -> Phrase | None:
        """How many corrections give their credential another IIN, if any do: the file
        shows the registrar only the new one."""
        if not self.changed:
            return None
        row = min(self.changed)
        field = self.changed[row]
        return phrase("issue.corrections.changed", f"corrections changing the {field} their "
                      f"credential was issued with: {len(self.changed)} (first: row {row})",
                      count=len(self.changed), label=field_label(field), row=row)

    def _mismatch(self, field: str, other: str, earlier: Earlier) -> Phrase:
        return phrase("issue.issued.mismatch", f"{self._a_type} for this {field} is recorded "
                      f"in the job {earlier.job}, but not with this row's {other}: check the "
                      f"row, since a mistyped {field} names another person, whose credential "
                      "must not be superseded by this one", type=self._type,
                      label=field_label(field), other=field_label(other), job=earlier.job)

    def _changed(self, field: str, other: str, earlier: Earlier) -> Phrase:
        return phrase("issue.issued.changed", f"{self._a_type} for this {field} was issued in "
                      f"the job {earlier.job} with another {other}: check the row, since a "
                      f"mistyped {field} names another person; if this {other} corrects "
                      "the one issued, issue with --corrections and then supersede the old "
                      "credential", type=self._type, label=field_label(field),
                      other=field_label(other), job=earlier.job)

    def _changed_unfinished(self, field: str, other: str, earlier: Earlier) -> Phrase:
        state = self._unfinished(earlier)
        return phrase("issue.issued.changed_unfinished", f"{self._a_type} for this {field} is "
                      f"in the unfinished job {earlier.job} (state {state}) with another "
                      f"{other}: finish that job first with senim issue --resume "
                      f"{earlier.job}; then, if this {other} corrects the one it holds, issue "
                      "with --corrections and supersede that credential; if not, check the "
                      f"row, since a mistyped {field} names another person", type=self._type,
                      label=field_label(field), other=field_label(other), job=earlier.job,
                      state=phrase(f"issue.job_state.{state}", state)
                      if state in JOB_STATES else str(state))

    def _changed_unsent(self, field: str, other: str, earlier: Earlier) -> Phrase:
        return phrase("issue.issued.changed_unsent", f"{self._a_type} for this {field} is in "
                      f"the job {earlier.job} with another {other}, stopped before it sent its "
                      f"batch: nothing of that job was sent. If this {other} is the right one, "
                      f"delete the folder {earlier.job} (none of its credentials is issued: "
                      "give its rows again, in this export or another) and run this again; if "
                      f"not, check the row, since a mistyped {field} names another person",
                      type=self._type, label=field_label(field), other=field_label(other),
                      job=earlier.job)

    def _unsent_other_row(self, field: str, earlier: Earlier) -> Phrase:
        other, row = self.unique[0], self.unsent_changed[earlier.job]
        return phrase("issue.issued.unsent_other_row", f"{self._a_type} for this {field} is in "
                      f"the job {earlier.job}, stopped before it sent its batch, so none of its "
                      f"credentials is on chain; row {row} gives one of its students another "
                      f"{other}: if that {other} is right, delete the folder {earlier.job} and "
                      "run this again (this row is issued then), else check that row",
                      type=self._type, label=field_label(field), job=earlier.job, row=row,
                      other=field_label(other))

    def _said(self, field: str, earlier: Earlier) -> Phrase:
        """Where this value was issued, or the unfinished job it is in."""
        chain: Phrase | str = "" if self.chain_id is not None else phrase(
            "issue.issued.chain", f" of chain {earlier.chain_id!r}", chain=earlier.chain_id)
        if earlier.pending:
            state = self._unfinished(earlier)
            if state == "committed":  # stopped between its commit and the registry's record
                return phrase("issue.issued.unrecorded", f"{self._a_type} for this {field} is "
                              f"on chain in the job {earlier.job}{chain}, whose credentials "
                              "were not yet recorded as issued (it was stopped after its commit): "
                              f"finish that job first with senim issue --resume {earlier.job}",
                              type=self._type, label=field_label(field), job=earlier.job,
                              chain=chain)
            if self._unsent(earlier):
                return phrase("issue.issued.unsent", f"{self._a_type} for this {field} is in "
                              f"the job {earlier.job}, stopped before it sent its batch, so "
                              "none of its credentials is on chain: finish that job first with "
                              f"senim issue --resume {earlier.job}", type=self._type,
                              label=field_label(field), job=earlier.job)
            return phrase("issue.issued.unfinished", f"{self._a_type} for this {field} is in "
                          f"the unfinished job {earlier.job} (state {state}), which may be on "
                          f"chain already: finish that job first with senim issue --resume "
                          f"{earlier.job}", type=self._type, label=field_label(field),
                          job=earlier.job, state=phrase(f"issue.job_state.{state}", state)
                          if state in JOB_STATES else str(state))
        return phrase("issue.issued.already", f"{self._a_type} was already issued to this "
                      f"{field} (job {earlier.job}{chain}, batch {earlier.batch_root[:16]}…, "
                      f"height {earlier.height}); to correct it, issue with --corrections and "
                      "then supersede the old credential", type=self._type,
                      label=field_label(field), job=earlier.job, chain=chain,
                      batch=earlier.batch_root[:16], height=earlier.height)

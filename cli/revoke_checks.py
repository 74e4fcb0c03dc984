"""What `senim governance revoke` asks the node before it proposes: each credential file
checked as the ledger would check it in the proposal (`ledger.governance_revocation`),
with the reason in words, so that the officer learns which files to leave out before a
single transaction is sent. Members, batches and open proposals are read once for all
the files; each credential's own revocation record once per file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.client import ClientError, NodeClient
from cli.revoke_inputs import Read
from cli.spoken import Moment, Sentence
from ledger.credential_documents import ParsedDocument
from ledger.payloads import ACTION_REVOKE_CREDENTIAL, ACTION_REVOKE_CREDENTIALS
from ledger.payloads_credentials import REVOCATION_REASONS
from storage.batch_tree import verify_inclusion


@dataclass(frozen=True)
class Listed:
    """A file given, and why the proposal could not revoke it (None: it could)."""

    read: Read
    problem: Sentence | None
    issuer: bytes = b""
    issuer_name: str = ""


def rules_too_old(version: int, scheduled: list[dict[str, Any]], needed: int,
                  count: int) -> Sentence:
    what = ("revoking a retired member's credential" if count == 1 else
            f"revoking {count} credentials of a retired member in one proposal")
    said = f"the chain runs ledger rules version {version}; {what} needs version {needed}"
    key = "gov.rules_old.one" if count == 1 else "gov.rules_old.many"
    due = [int(c["from_height"]) for c in scheduled if int(c["version"]) >= needed]
    if due:
        return Sentence(f"{key}_due", f"{said}, scheduled from height {min(due)}: propose it "
                        "from then", version=version, needed=needed, count=count,
                        height=min(due))
    alone = "; or give one file at a time" if count > 1 else ""
    return Sentence(key, f"{said} (senim governance propose --action set-rules-version "
                    f"--rules-version {needed}, once every node runs a release that knows "
                    f"it){alone}", version=version, needed=needed, count=count)


def _open_proposals(proposals: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each credential an open proposal revokes (any reason), by (batch root, hash)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for p in proposals:
        if p["status"] != "open":
            continue
        if p["action"] == ACTION_REVOKE_CREDENTIAL:
            found.setdefault((p["batch_root"], p["target_hash"]), p)
        elif p["action"] == ACTION_REVOKE_CREDENTIALS:
            for c in p["credentials"]:
                found.setdefault((c["batch_root"], c["target_hash"]), p)
    return found


@dataclass
class ChainView:
    """What the node says, read once: its chain, head, governance and members."""

    client: NodeClient
    chain_id: str
    head: int
    threshold: int
    version: int
    known: int
    scheduled: list[dict[str, Any]]
    members: dict[str, dict[str, Any]]
    in_open: dict[tuple[str, str], dict[str, Any]]

    @classmethod
    def of(cls, client: NodeClient) -> ChainView:
        status = client.status()
        governance = client.request("GET", "/v1/governance")
        rules = governance["rules"]
        members = client.request("GET", "/v1/members")["members"]
        return cls(client, str(status["chain_id"]), int(status["height"]),
                   int(governance["policy"]["threshold"]), int(rules["version"]),
                   int(rules["known"]), list(rules["scheduled"]),
                   {str(m["member_id"]): m for m in members},
                   _open_proposals(list(governance["proposals"])))

    def check(self, reads: list[Read], key_path: Path, voter: str | None = None
              ) -> list[Listed]:
        """Each file with why it cannot be revoked in one proposal with the others. The
        issuer is the one most files name (the first of those as many): a stray file of
        another is named as such, rather than every file but it."""
        issuers = Counter(r.document.issuer for r in reads if r.document is not None)
        first = next((r.document for r in reads if r.document is not None
                      and r.document.issuer == issuers.most_common(1)[0][0]), None)
        batches: dict[bytes, int | None] = {}
        seen: dict[tuple[bytes, bytes], Path] = {}
        listed = []
        for read in reads:
            doc = read.document
            if doc is None or first is None:
                listed.append(Listed(read, read.problem))
                continue
            member = self.members.get(doc.issuer.hex())
            name = str(member["name"]) if member else doc.issuer.hex()[:16]
            problem = self._problem(doc, first, member, batches, seen.get(
                (doc.batch_root, doc.target_hash)), key_path, voter)
            seen.setdefault((doc.batch_root, doc.target_hash), read.path)
            listed.append(Listed(read, problem, doc.issuer, name))
        return listed

    def _problem(self, doc: ParsedDocument, first: ParsedDocument,
                 member: dict[str, Any] | None, batches: dict[bytes, int | None],
                 twin: Path | None, key_path: Path, voter: str | None
                 ) -> Sentence | None:
        if doc.chain_id != self.chain_id:
            return Sentence("gov.check.other_network", f"unknown credential: it was issued on "
                            f"network {doc.chain_id!r}; the node at {self.client.base_url} is "
                            f"on {self.chain_id!r}", network=repr(doc.chain_id),
                            node=self.client.base_url, chain=repr(self.chain_id))
        if member is None:
            return Sentence("gov.check.no_member", f"unknown credential: its issuer "
                            f"{doc.issuer.hex()} is no member of this network",
                            issuer=doc.issuer.hex())
        name, retired = str(member["name"]), member["retired_height"]
        if doc.issuer != first.issuer:
            most = self.members.get(first.issuer.hex())
            others = most["name"] if most else first.issuer.hex()[:16]
            return Sentence("gov.check.other_issuer", f"another issuer: {name} (most files are "
                            f"{others}'s); one proposal revokes one issuer's credentials",
                            name=name, most=others)
        if twin is not None:
            return Sentence("gov.check.twice", f"the same credential as {twin}: name each "
                            "credential once", path=twin)
        if retired is None:
            return Sentence("gov.check.not_retired", f"{name} is not retired: it revokes its own "
                            "credentials (senim revoke); a ministry may suspend it (senim "
                            "suspend) or propose its retirement first", name=name)
        if int(retired) > self.head + 1:
            return Sentence("gov.check.retires_later", f"{name} is retired only from height "
                            f"{retired} (the chain is at height {self.head}); until then it "
                            "revokes its own credentials", name=name, height=retired,
                            head=self.head)
        path = f"/v1/batches/{doc.issuer.hex()}/{doc.batch_root.hex()}"
        if doc.batch_root not in batches:
            batches[doc.batch_root] = self._count(path)
        count = batches[doc.batch_root]
        if count is None:
            return Sentence("gov.check.no_batch", f"unknown credential: {name} has no batch "
                            f"{doc.batch_root.hex()[:16]}… on this network; the credential was "
                            "never issued here", name=name, batch=doc.batch_root.hex()[:16])
        if count != doc.batch_size or not verify_inclusion(
                doc.target_hash, doc.batch_index, doc.batch_size, doc.batch_path,
                doc.batch_root):
            return Sentence("gov.check.altered", "unknown credential: it is not in the batch it "
                            "names (the file was altered); nothing of it is on chain to revoke")
        record = self.client.request("GET", f"{path}/credentials/{doc.target_hash.hex()}")
        if record["revoked"]:
            return self._revoked(record, name)
        open_one = self.in_open.get((doc.batch_root.hex(), doc.target_hash.hex()))
        if open_one is not None:
            pid = open_one["proposal_id"]
            if voter is not None and any(v.get("member_id") == voter
                                         for v in open_one.get("votes", [])):
                return Sentence("gov.check.in_open_voted", f"proposal {pid}, which you voted "
                                "for, already proposes to revoke this credential, open until "
                                f"height {open_one['expiry_height']}: it waits for the other "
                                "voters", id=pid, expiry=open_one["expiry_height"])
            return Sentence("gov.check.in_open", f"proposal {pid} already proposes to revoke "
                            f"this credential, open until height {open_one['expiry_height']}: "
                            f"vote for it (senim governance vote --key {key_path} {pid})",
                            id=pid, expiry=open_one["expiry_height"], keyfile=key_path)
        return None

    @staticmethod
    def _revoked(record: dict[str, Any], name: str) -> Sentence:
        """A credential revoked already: by whom, when and why."""
        by_consortium = record.get("revoked_by") == "consortium"
        by = (f"by the consortium (proposal {record['proposal_id']})" if by_consortium
              else f"by {name}")
        code = str(record["reason"])
        why = Sentence(f"reason.{code}" if code in REVOCATION_REASONS else "gov.coded_reason",
                       REVOCATION_REASONS.get(code, ""))
        return Sentence("gov.check.revoked_consortium" if by_consortium else "gov.check.revoked",
                        f"already revoked {by} at height {record['revoked_at_height']} "
                        f"({record['revoked_at']}): {REVOCATION_REASONS.get(code, '')}",
                        proposal=record.get("proposal_id"), name=name,
                        height=record["revoked_at_height"], when=Moment(str(record["revoked_at"])),
                        why=why)

    def _count(self, path: str) -> int | None:
        try:
            return int(self.client.request("GET", path)["count"])
        except ClientError as exc:
            if exc.status != 404:
                raise
            return None

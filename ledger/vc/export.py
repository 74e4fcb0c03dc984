"""A native Senim credential as a W3C VC 2.0, and back.

The VC carries only the fields the holder disclosed, as `credentialSubject.fields`.
Its `senim` section (a JSON literal, so the proof covers it byte for byte)
keeps what a Senim verifier needs to check the chain: the salts of the shown
fields, the salted hashes of the hidden ones, the target hash, the batch root
and audit path, and the block height of the batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ledger.credential_documents import parse_document
from ledger.credentials import DOCUMENT_FORMAT
from ledger.errors import InvalidDocument
from ledger.identity import MEMBER_ID_BYTES, KeyPair
from ledger.vc.canon import CREDENTIALS_V2, SENIM_CONTEXT, Loader
from ledger.vc.didkey import did_key
from ledger.vc.proofs import add_proof
from ledger.vc.status import status_entry

VC_TYPE = "SenimCredential"
SUBJECT_TYPE = "SenimCredentialSubject"
STATUS_PATH = "/credentials/status/"
STATUS_LIST_ID_BYTES = MEMBER_ID_BYTES + 32  # a batch's issuer (member id) and root


def xsd_time(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_list_id(issuer: bytes, batch_root: bytes) -> bytes:
    """A batch is named by its issuer and root together (roots are per issuer)."""
    return issuer + batch_root


def batch_list_id(credential: Any) -> bytes | None:
    """The status list id of the batch a Senim VC's section names (its issuer and root,
    read as `native_of_vc` reads them, exported or anchored), or None for any other
    document: a list speaks of its own batch's credentials alone. Two values read, not
    the document (a node reads it on its event loop)."""
    senim = credential.get("senim") if isinstance(credential, dict) else None
    if not isinstance(senim, dict) or not isinstance(senim.get("batch"), dict):
        return None
    issuer, root = senim.get("issuer_member_id"), senim["batch"].get("root")
    try:
        found = status_list_id(bytes.fromhex(str(issuer)), bytes.fromhex(str(root)))
    except ValueError:
        return None
    return found if len(found) == STATUS_LIST_ID_BYTES else None


def status_list_url(base_url: str, issuer: bytes, batch_root: bytes) -> str:
    """Where every node serves the status list of a batch."""
    return base_url.rstrip("/") + STATUS_PATH + status_list_id(issuer, batch_root).hex()


def to_vc(document: Any, issuer: KeyPair, status_base_url: str, block_height: int,
          issued_ms: int, created_ms: int, loader: Loader | None = None, *,
          issuer_name: str | None = None) -> dict[str, Any]:
    """Sign a native credential (as the holder disclosed it) as a VC 2.0.

    `issuer_name`: the VC's issuer.name, the chain's name of the issuer member. The
    document's own `issuer.name` is in no hash, so anyone holding the file may have
    rewritten it; it is used only when None, for documents their issuer has just made
    (`senim issue --format vc`'s job files, tests, bench)."""
    doc = parse_document(document)
    if issuer.member_id != doc.issuer:
        raise InvalidDocument("this key is not the credential's issuer: only the issuer "
                              "may sign its credentials as VCs", "not_issuer_key")
    raw_fields = document["fields"]
    salts = {name: raw_fields[name]["salt"] for name in doc.revealed}
    hidden = {name: digest.hex() for name, digest in doc.field_hashes.items()
              if name not in doc.revealed}
    list_url = status_list_url(status_base_url, doc.issuer, doc.batch_root)
    credential = {
        "@context": [CREDENTIALS_V2, SENIM_CONTEXT],
        "id": f"urn:senim:credential:{doc.target_hash.hex()}",
        "type": ["VerifiableCredential", VC_TYPE],
        "issuer": {"id": did_key(issuer.public_key),
                   "name": doc.issuer_name if issuer_name is None else issuer_name},
        "validFrom": xsd_time(issued_ms),
        "credentialSubject": {"type": SUBJECT_TYPE, "credentialType": doc.credential_type,
                              "fields": dict(doc.revealed)},
        "credentialStatus": status_entry(list_url, doc.batch_index),
        "senim": {
            "format": DOCUMENT_FORMAT, "chain_id": doc.chain_id,
            "credential_type": doc.credential_type, "issuer_member_id": doc.issuer.hex(),
            "target_hash": doc.target_hash.hex(), "block_height": block_height,
            "batch": {"root": doc.batch_root.hex(), "index": doc.batch_index,
                      "size": doc.batch_size, "path": [p.hex() for p in doc.batch_path]},
            "salts": salts, "hidden": hidden,
        },
    }
    return add_proof(credential, issuer, xsd_time(created_ms), loader=loader)


def native_of_vc(credential: dict[str, Any]) -> dict[str, Any]:
    """The native document a Senim VC stands for, to run the chain checks on."""
    senim = credential.get("senim")
    subject = credential.get("credentialSubject")
    if not isinstance(senim, dict) or not isinstance(subject, dict):
        raise InvalidDocument("not a Senim VC: it lacks the senim section or a subject",
                              "vc_not_senim")
    shown, salts, hidden = subject.get("fields"), senim.get("salts"), senim.get("hidden")
    if not (isinstance(shown, dict) and isinstance(salts, dict) and isinstance(hidden, dict)):
        raise InvalidDocument("the Senim VC's fields, salts or hidden hashes are missing",
                              "vc_senim_section")
    if set(shown) != set(salts) or set(shown) & set(hidden):
        raise InvalidDocument("every shown field needs its salt, and no field may be both "
                              "shown and hidden", "vc_senim_section")
    if subject.get("credentialType") != senim.get("credential_type"):
        raise InvalidDocument("the subject's credential type differs from the anchored one",
                              "vc_type_differs")
    fields: dict[str, Any] = {name: {"value": value, "salt": salts[name]}
                              for name, value in shown.items()}
    fields.update({name: {"hash": digest} for name, digest in hidden.items()})
    return {"format": senim.get("format"), "chain_id": senim.get("chain_id"),
            "type": senim.get("credential_type"),
            "issuer": {"member_id": senim.get("issuer_member_id"), "name": ""},
            "fields": fields, "target_hash": senim.get("target_hash"),
            "batch": senim.get("batch")}

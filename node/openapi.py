"""The shapes of the node API's requests and answers, for the route table in `node.api`.

The table (`node.api.ROUTES`, `node.vc_api.VC_ROUTES`) is the one declaration of each
route; /openapi.json is generated from it by `node.api_schema.openapi_document`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.identity import MEMBER_ID_BYTES
from ledger.payloads_credentials import CREDENTIAL_TYPES, REASON_SUPERSEDED, REVOCATION_REASONS
from ledger.vc.export import STATUS_LIST_ID_BYTES
from ledger.vc.presentation import MAX_CREDENTIALS_PER_PRESENTATION, MISMATCH_PROBLEMS
from ledger.vc.status import LIST_UNUSABLE
from ledger.vc.verify import CREDENTIAL_MISMATCH_PROBLEMS
from ledger.vc.warning_codes import FIXED, OTHER, STATUS_LIST_NOT_ISSUERS, STATUS_LIST_UNCHECKED
from node.api_public import (
    ANCHOR_BODY_MAX,
    MAX_PROOF_KEYS,
    MAX_STATE_KEY_BYTES,
    MAX_WAIT_S,
    SET_CHANGES_PAGE_MAX,
    VERIFY_BODY_MAX,
)
from node.api_schema import (
    BINARY,
    JSON,
    REFUSAL_PARAMS,
    VC_PROBLEM_REF,
    Param,
    Reply,
    Schema,
    code_schema,
    error_reply,
    hex_bytes,
    nullable,
    obj,
    vc_error_reply,
)
from node.client_limits import ARRIVING_HELD_MAX_S, ARRIVING_WAIT_MAX_S, RATES
from node.evidence import EVIDENCE_PAGE_MAX
from node.public_work import JSON_DEPTH_MAX, JSON_VALUES_MAX
from node.submission_body import MAX_TXS_PER_REQUEST
from node.vc_issuing import MAX_STATUS_UPDATES
from node.vc_problems import CODE_PATTERN, RESULT_CODES

_KIB = 1024
HEIGHT_MAX = 2**63 - 1

INFO: Schema = {"title": "Senim node API", "version": "1",
                "description": "Education credentials on a consortium ledger. Every error "
                "is JSON {\"error\": {\"code\", \"message\"}}, with \"params\" when it "
                "names specifics; the VC-API's are RFC 9457 problem details (type, status, "
                "title, detail, params) around the same error."}

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
HEX: Schema = {"type": "string", "pattern": "^(?:[0-9a-fA-F]{2})*$"}
ID32 = hex_bytes(32)
MEMBER_ID = hex_bytes(MEMBER_ID_BYTES)

# Parameters.
TX_ID = Param("tx_id", ID32, "transaction id: 32 bytes of hex")
HEIGHT = Param("height", {"type": "integer", "minimum": 0, "maximum": HEIGHT_MAX},
               "block height")
STATE_KEY = Param("key", hex_bytes(1, MAX_STATE_KEY_BYTES), "state key: 1 to 128 bytes of hex")
ISSUER = Param("issuer", MEMBER_ID, "issuer's member id: 20 bytes of hex")
ROOT = Param("root", ID32, "batch root: 32 bytes of hex")
TARGET = Param("target", ID32, "the credential's target hash: 32 bytes of hex")
WAIT = Param("wait", {"type": "number", "minimum": 0, "maximum": MAX_WAIT_S},
             f"seconds to long-poll until committed or refused (at most {MAX_WAIT_S:g})")
BLOCK_FORMAT = Param("format", {"type": "string", "enum": ["raw", "json"]},
                     "raw for the block's bytes")
EVIDENCE_LIMIT = Param("limit", {"type": "integer", "minimum": 1},
                       f"rows per page (at most {EVIDENCE_PAGE_MAX} are given)")
EVIDENCE_BEFORE = Param("before", {"type": "integer", "minimum": 0},
                        "the `next` cursor of the previous page")
EVIDENCE_AFTER = Param("after", {"type": "string", "pattern": "^([0-9a-f]{2})*$",
                                  "maxLength": 256},
                        "the `next` cursor of the previous page")
SET_CHANGES_AFTER = Param("after", {"type": "integer", "minimum": 0, "maximum": HEIGHT_MAX},
                          "only changes that take effect above this block (the "
                          "`from_height` of the last change of the previous page)")

# Errors every route may give, and those of the public (rate-limited, pooled) work.
BAD_REQUEST = error_reply("Bad parameter or body")
STORE_FAULT = error_reply("This node's store is damaged (store_damaged), or its files are "
                          "not readable by the node's user (store_unreadable); ask another "
                          "node")
NOT_FOUND = error_reply("Not found")
PUBLIC_ERRORS = {
    408: error_reply("Body not received in time", ("Connection",)),
    413: error_reply("Body too large: past the route's limit, or, on a verification "
                     "route, past the most one address not exempt from the per-client "
                     "rates may send at once (its byte rate's burst, "
                     f"{int(RATES['verify_bytes'][1]) // _KIB} KiB); `params.limit` says "
                     "which"),
    429: error_reply("Over the client's rate (a body sent chunked or compressed is held "
                     "back to its byte rate as it arrives, refused only past "
                     f"{ARRIVING_WAIT_MAX_S:g} s of that for one piece or "
                     f"{ARRIVING_HELD_MAX_S:g} s in all). What the node reads of a "
                     "body it refused unread is charged to that byte rate too, and with "
                     "none left such a refusal (413, 415, ...) is this 429, unless the "
                     "client waited for 100 Continue and sent no body",
                     ("Retry-After",)),
    503: error_reply("Busy, or the store is damaged or not readable by the node's user",
                     ("Retry-After",)),
}

# Answers.
TX_STATUS: Schema = obj({"tx_id": ID32, "status": {"enum": [
    "pending", "committed", "rejected", "unknown"]}}, {
    "height": INTEGER, "index": INTEGER, "block_hash": nullable(ID32),
    "time": nullable(STRING), "code": nullable(STRING), "reason": nullable(STRING),
    "params": REFUSAL_PARAMS})
SUBMITTED_ONE: Schema = obj({"tx_id": ID32, "status": {"const": "pending"}})
SUBMITTED_MANY: Schema = obj({"accepted": INTEGER, "rejected": INTEGER, "results": {
    "type": "array", "items": obj({"tx_id": nullable(ID32), "status": {
        "enum": ["pending", "rejected"]}}, {"code": STRING, "reason": STRING,
                                            "params": REFUSAL_PARAMS})}})
SUBMISSION: Schema = {"oneOf": [
    obj({"tx": HEX}),
    obj({"txs": {"type": "array", "items": HEX, "minItems": 1,
                 "maxItems": MAX_TXS_PER_REQUEST}})]}
BLOCK: Schema = obj({
    "height": INTEGER, "hash": ID32, "previous_hash": ID32, "time_ms": INTEGER,
    "time": STRING, "proposer": HEX, "view": INTEGER, "txs_root": ID32,
    "state_root": ID32, "validator_set_hash": ID32, "chain_id": STRING,
    "transactions": {"type": "array", "items": obj(
        {"tx_id": ID32, "kind": STRING, "sender": HEX})},
    "certificate": HEX})
STATE_PROOF: Schema = {"type": "object"}
STATE_ENTRY: Schema = obj({"chain_id": STRING, "key": HEX, "value": nullable(HEX),
                           "proof": STATE_PROOF, "height": INTEGER, "block_hash": ID32,
                           "state_root": ID32})
PROOF_REQUEST: Schema = obj({"keys": {"type": "array", "minItems": 1,
                                      "maxItems": MAX_PROOF_KEYS,
                                      "items": hex_bytes(1, MAX_STATE_KEY_BYTES)}})
PROVEN_VALUE: Schema = obj({"value": nullable(HEX), "proof": STATE_PROOF})
SET_CHANGE: Schema = obj({"from_height": INTEGER, "header": HEX, "certificate": HEX,
                          "index": PROVEN_VALUE, "record": PROVEN_VALUE})
SET_CHANGES: Schema = obj({"chain_id": STRING, "after": INTEGER, "more": {"type": "boolean"},
                           "changes": {"type": "array", "maxItems": SET_CHANGES_PAGE_MAX,
                                       "items": SET_CHANGE}})
PROOF_BUNDLE: Schema = obj({"format": STRING, "height": INTEGER, "header": HEX,
                            "certificate": HEX, "entries": {"type": "array", "items": obj(
                                {"key": HEX, "value": nullable(HEX),
                                 "proof": STATE_PROOF})},
                            "set_changes": {"type": "array", "items": SET_CHANGE}})
VERDICT: Schema = obj({"valid": {"type": "boolean"}, "status": STRING, "reason": STRING,
                       "source": STRING, "checks": {"type": "array", "items": obj(
                           {"check": STRING, "ok": {"type": "boolean"},
                            "detail": STRING})},
                       "facts": {"type": "object"}})
BATCH: Schema = obj({"root": ID32, "issuer": MEMBER_ID, "issuer_name": nullable(STRING),
                     "type": STRING, "count": INTEGER, "height": INTEGER, "time": STRING,
                     "tx_id": ID32})
REVOCATION: Schema = obj({"target_hash": ID32, "batch_root": ID32,
                          "revoked": {"type": "boolean"}, "height": INTEGER},
                         {"reason": STRING, "revoked_at_height": INTEGER,
                          "revoked_at": STRING,
                          "revoked_by": {"type": "string", "enum": ["issuer", "consortium"]},
                          "proposal_id": nullable(ID32), "revoked_by_member": MEMBER_ID,
                          "revocation_doubted": {"type": "boolean"},
                          "key_distrusted_from": nullable(INTEGER)})
# How a member's key (a set validator's) became its key (node.key_changes): null for its
# first key.
KEY_CHANGE: Schema = obj({"height": INTEGER, "by": {"type": "string", "enum": [
    "rotation", "replacement", "unknown"]}}, {"distrusted_from": nullable(INTEGER),
                                              "proposal_id": nullable(ID32)})
SET_VALIDATOR: Schema = obj({"member_id": MEMBER_ID, "name": nullable(STRING)},
                            {"public_key": HEX, "key_change": nullable(KEY_CHANGE)})
MEMBERS: Schema = obj({"members": {"type": "array", "items": obj({
    "member_id": MEMBER_ID, "name": STRING, "role": STRING,
    "validator": {"type": "boolean"}, "public_key": HEX, "on_chain": {"type": "boolean"},
    "accreditations": {"type": "array", "items": obj({
        "types": {"type": "array", "items": STRING}, "from": STRING, "until": STRING,
        "granted_by": MEMBER_ID, "granted_height": INTEGER,
        "suspended_height": nullable(INTEGER), "suspend_reason": nullable(STRING)},
        {"key_distrusted_from": nullable(INTEGER)})}},
    {"added_height": INTEGER, "retired_height": nullable(INTEGER),
     "key_change": nullable(KEY_CHANGE),
     "added_by": nullable(MEMBER_ID), "admission_doubted_from": nullable(INTEGER),
     "admission_confirmed_height": nullable(INTEGER)})}},
    {"height": INTEGER})
NAMED_MEMBER: Schema = obj({"member_id": MEMBER_ID, "name": nullable(STRING)})
RULES: Schema = obj({"version": INTEGER, "known": INTEGER, "scheduled": {
    "type": "array", "items": obj({"from_height": INTEGER, "version": INTEGER})}})
GOVERNANCE: Schema = obj({
    "height": INTEGER,
    "policy": obj({"threshold": INTEGER, "voters": STRING, "min_validators": INTEGER}),
    "rules": RULES,
    "voters": {"type": "array", "items": NAMED_MEMBER},
    "validator_sets": {"type": "array", "items": obj({
        "from_height": INTEGER, "validators": {"type": "array", "items": SET_VALIDATOR}})},
    "proposals": {"type": "array", "items": obj({
        "proposal_id": ID32, "action": STRING,
        "status": {"type": "string", "enum": ["open", "cannot_apply", "expired", "approved",
                                              "in_force"]},
        "reason": nullable(STRING),
        "proposer": NAMED_MEMBER, "effective_height": INTEGER, "expiry_height": INTEGER,
        "proposed_height": INTEGER, "approved_height": nullable(INTEGER),
        "votes": {"type": "array", "items": NAMED_MEMBER}, "votes_needed": INTEGER,
        "votes_set_aside": {"type": "array", "items": obj({
            "member_id": MEMBER_ID, "name": nullable(STRING), "cast_at": INTEGER,
            "key_distrusted_from": INTEGER})}},
        {"member_id": MEMBER_ID, "name": nullable(STRING), "role": STRING,
         "public_key": HEX, "reason_code": STRING, "reason_params": REFUSAL_PARAMS,
         "rules_version": INTEGER,
         "batch_root": ID32, "target_hash": ID32, "index": INTEGER,
         "revocation_reason": STRING, "compromised_from": nullable(INTEGER),
         "admitted_by": nullable(NAMED_MEMBER), "brought_forward_to": nullable(INTEGER),
         "credentials": {"type": "array", "items": obj({
             "batch_root": ID32, "target_hash": ID32, "index": INTEGER})}})}})
NODE_STATUS: Schema = obj({
    "chain_id": STRING, "node": STRING, "member_id": MEMBER_ID,
    "member": nullable(STRING), "validator": {"type": "boolean"}, "height": INTEGER,
    "head_hash": ID32, "head_time": STRING, "state_root": ID32,
    "mempool": obj({"transactions": INTEGER, "bytes": INTEGER}),
    "consensus": {"type": "object"}, "peers": {"type": "array"},
    "validators": {"type": "array", "items": obj({"member_id": MEMBER_ID, "name": STRING})},
    "rules": RULES}, {"public_key": HEX})
EVIDENCE: Schema = obj({"evidence": {"type": "array", "items": {"type": "object"}},
                        "next": nullable(INTEGER), "total": INTEGER, "dropped": INTEGER})
CHAIN_EVIDENCE: Schema = obj({"evidence": {"type": "array", "items": {"type": "object"}},
                              "next": nullable({"type": "string"})})
# Any JSON value: what a person pastes into the portal is answered with a verdict, one
# that is no credential document with status "malformed" (200), as the portal words it.
DOCUMENT: Schema = {"description": (
    f"a credential document: JSON of at most {VERIFY_BODY_MAX // _KIB} KiB, "
    f"{JSON_VALUES_MAX} values, nesting {JSON_DEPTH_MAX}; any other JSON value is "
    "answered with a verdict of status malformed")}
ANCHORED: Schema = {**BINARY, "description": f"the anchored bytes, at most "
                    f"{ANCHOR_BODY_MAX // _KIB} KiB"}
OPENAPI_DOC: Schema = obj({"openapi": STRING, "info": {"type": "object"},
                           "paths": {"type": "object"}})


# The VC-API's.
LIST_ID_BYTES = STATUS_LIST_ID_BYTES  # issuer id + batch root (ledger.vc.export)
VC_OPTIONS: Schema = {"type": "object", "properties": {
    "challenge": {"type": "string"}, "domain": {"type": "string"}}}
VC_ISSUE_OPTIONS: Schema = {"type": "object", "properties": {
    "credentialType": {"type": "string", "enum": list(CREDENTIAL_TYPES),
                       "description": "the Senim type to anchor as (default certificate)"},
    "credentialStatus": obj({"type": {"type": "string",
                                      "enum": ["BitstringStatusListEntry"]}})}}
VC_STATUS_UPDATE: Schema = obj({
    "credentialId": {"type": "string", "minLength": 1},
    "credentialStatus": {"type": "array", "minItems": 1, "maxItems": MAX_STATUS_UPDATES,
                         "items": obj({
        "type": {"type": "string"}, "status": {"type": "string", "enum": ["revoked"]}})}},
    {"reason": {"type": "string", "enum": [
        r for r in REVOCATION_REASONS if r != REASON_SUPERSEDED]}})
VC_STATUS_UPDATED: Schema = obj({"credentialId": STRING, "revoked": {
    "type": "array", "items": obj({"batch_root": ID32, "height": INTEGER})}})
# The VC data model's ProblemDetails, as a verification result lists them: type required.
VC_CHECK_PROBLEM: Schema = obj({
    "type": {"type": "string", "format": "uri"},
    "code": code_schema(RESULT_CODES, "another verdict status (the verdict's status)")},
    {"title": STRING, "detail": STRING,
     "credential": {"type": "integer", "minimum": 0, "description": (
         "of a presentation's not_on_chain warning: the credential's index in its "
         "verifiableCredential, from 0")}})
# The verdict beside the VC-API's result (ledger.vc.verify.VcVerdict): what a reader words
# it from in its own language, without parsing the English `reason` and `warnings`.
WARNING_CODES: Schema = {"type": "string", "enum": sorted(
    {*FIXED.values(), STATUS_LIST_UNCHECKED, STATUS_LIST_NOT_ISSUERS, OTHER}),
    "description": "each warning's code, in the order of `warnings` "
                   "(ledger/vc/warning_codes.py); challenge_not_checked: a presentation "
                   "checked with no challenge, which could be a replay; not_on_chain: a "
                   "credential no Senim chain records, which anyone could have signed"}
MOMENT: Schema = {"type": "string", "description": "YYYY-MM-DD HH:MM:SS UTC"}
# A challenge or domain the verifier asked for that the proof does not carry fails its
# own check (`challenge`, `domain`, whose `problem` is vp_challenge_mismatch or
# vp_domain_mismatch for a presentation, vc_challenge_mismatch or vc_domain_mismatch for
# a credential), the signature being genuine; each is checked whatever the other gave, so
# that both are said when both fail.
ASKED: Schema = {"enum": ["checked", "not_checked", "mismatch"],
                 "description": "whether the proof carries the one asked for in options; "
                                "not_checked when none was asked for (a credential's "
                                "facts name only those asked for)"}
VC_FACTS: Schema = {
    "type": "object", "additionalProperties": True,
    "description": "for a Senim VC, the chain's facts as /v1/verify gives them (type, "
                   "issuer, issued_at, height, revoked_at, ...); and what the VC's own "
                   "checks found",
    "properties": {
        "validity": {"enum": ["not_yet_valid", "expired"]}, "valid_from": MOMENT,
        "valid_until": MOMENT, "did_key": {"enum": ["not_the_issuers"]},
        "status_list_validity": {"enum": ["not_yet_valid", "expired"]},
        "status_list_valid_from": MOMENT, "status_list_valid_until": MOMENT,
        "status_list_problem": {"enum": list(LIST_UNUSABLE)},
        "status_list_purpose": STRING, "status_list_index": INTEGER}}
# A credential verified alone, at /credentials/verify: the challenge and domain its
# options asked for (a presentation's are the presentation's: none for the credentials it
# holds).
ASKED_VC_FACTS: Schema = {**VC_FACTS, "properties": {
    **VC_FACTS["properties"], "challenge": ASKED, "domain": ASKED}}
# A failed check's code, which a reader words without parsing the English detail; each
# endpoint lists the codes of its own refusals (a presentation's beside the credential's).
DOCUMENT_PROBLEM = "a document problem code (cli/words doc.problem.<code> words each)"
VP_PROBLEMS: dict[str, str] = {
    **{code: f"the proof carries another {name} than options.{name}"
       for name, code in MISMATCH_PROBLEMS.items()},
    "vp_not_holder": "signed by a key not the holder's",
    "vp_too_many": "holds more credentials than are checked at once"}
VC_PROBLEMS: dict[str, str] = {
    code: f"the proof does not carry the {name} of options.{name}"
    for name, code in CREDENTIAL_MISMATCH_PROBLEMS.items()}


def vc_check(problems: Mapping[str, str]) -> Schema:
    """A verdict's check, given a failed check's `problem` (one of `problems`, else a
    document's) and the `params` it names."""
    problem: Schema = (code_schema(problems, "another " + DOCUMENT_PROBLEM) if problems else
                       {"type": "string", "pattern": CODE_PATTERN,
                        "description": DOCUMENT_PROBLEM})
    problem["description"] += "; given on a failed check only"
    return obj({"check": STRING, "ok": {"type": "boolean"}, "detail": STRING}, {
        "problem": problem,
        "params": {**REFUSAL_PARAMS,
                   "description": "the specifics the problem names (count, max, ...)"}})


def vc_verdict(facts: Schema, problems: Mapping[str, str],
               optional: Schema | None = None) -> Schema:
    return obj({"valid": {"type": "boolean"}, "status": STRING, "reason": STRING,
                "issuer": STRING, "checks": {"type": "array", "items": vc_check(problems)},
                "warnings": {"type": "array", "items": STRING},
                "warning_codes": {"type": "array", "items": WARNING_CODES},
                "facts": facts}, optional)


VP_FACTS: Schema = obj({}, {
    "credentials": {"type": "integer", "minimum": 0, "description": "how many it holds"},
    "credentials_max": {"const": MAX_CREDENTIALS_PER_PRESENTATION,
                        "description": "given when it holds more: it was not checked"},
    "signer": {"type": "string", "description": "the DID whose key signed it"},
    "holder": {"type": "string", "description": "the holder it names ('' for none)"},
    "challenge": ASKED, "domain": ASKED})
VC_VERDICT = vc_verdict(ASKED_VC_FACTS, VC_PROBLEMS)
HELD_VC_VERDICT = vc_verdict(VC_FACTS, {})
VP_VERDICT = vc_verdict(VP_FACTS, VP_PROBLEMS, {"credentials": {
    "type": "array", "maxItems": MAX_CREDENTIALS_PER_PRESENTATION, "items": HELD_VC_VERDICT,
    "description": "each credential's own verdict, in the presentation's order; given "
                   "once its signature, challenge and domain hold"}})


def vc_result(verdict: Schema) -> Schema:
    return obj({"verified": {"type": "boolean"},
                "checks": {"type": "array", "items": STRING},
                "warnings": {"type": "array", "items": VC_CHECK_PROBLEM},
                "errors": {"type": "array", "items": VC_CHECK_PROBLEM},
                "verdict": verdict})


VC_RESULT = vc_result(VC_VERDICT)
VP_RESULT = vc_result(VP_VERDICT)
VC_BUSY = {429: vc_error_reply("VC workers busy, or over this client's rate",
                               ("Retry-After",)),
           413: vc_error_reply("Body too large"),
           503: vc_error_reply("A VC worker died, the store is damaged, or the node is busy",
                               ("Retry-After",))}


def vc_verified(result: Schema) -> dict[int, Reply]:
    return {200: Reply("Verified", {JSON: result}),
            400: Reply("Not verified (VC-API result), or a malformed request (problem "
                       "details)", {JSON: {"oneOf": [result, VC_PROBLEM_REF]}}),
            408: vc_error_reply("Body not received in time", ("Connection",)),
            **VC_BUSY}


VC_VERIFIED = vc_verified(VC_RESULT)
VP_VERIFIED = vc_verified(VP_RESULT)
LIST_ID = Param("list_id", hex_bytes(LIST_ID_BYTES),
                "the issuer's member id and the batch root: 52 bytes of hex")


def json_reply(description: str, schema: Schema) -> Reply:
    return Reply(description, {JSON: schema})

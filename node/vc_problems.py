"""The VC-API's refusals as problem details (RFC 9457), with the node's error beside them.

The VC-API asks that its errors follow RFC 9457 and carry at least `status` and `title`,
and the VC data model's ProblemDetails (the verify routes' `errors`) requires `type`. So
every error answer on a VC-API path (`/credentials/...`, `/presentations/...`), whoever
refused it (the route, the client's rate, a busy pool, the parameter guard, the router),
is one JSON object with:

- `type` (a URL: the specification's where it names one, else SENIM_PROBLEMS + the code),
  `status` (the HTTP status), `title` (the code) and `detail` (the English message);
- `code`, an extension member: the stable, machine-readable code, one of `VC_CODES` or,
  for a refusal by the chain (issuing, revoking), the ledger's own code; `type` is a
  specification's URL for some, and `title` is by RFC 9457 a summary for people;
- `params`, an extension member, when the refusal names specifics (a limit, the field at
  fault, or a ledger refusal's member, type and height), so that a client can say them in
  its own language, as the node's own API gives them;
- `error`, the node's own `{"code", "message", "params"}` as every other route gives it,
  so a client of the node's API reads a VC-API refusal as it reads any other.

A verification result's `errors` and `warnings` are ProblemDetails too, coded from
`RESULT_CODES` (its warnings by `result_warnings`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from ledger.errors import InvalidDocument
from ledger.vc.verify import VcVerdict
from ledger.vc.warning_codes import FIXED, NOT_ON_CHAIN

VC_PATHS = ("/credentials/", "/presentations/")
# ProblemDetails types: the specifications' error URLs where they name one.
PROBLEM_TYPES = {
    "malformed": "https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR",
    "tampered": "https://w3id.org/security#PROOF_VERIFICATION_ERROR",
}
SENIM_PROBLEMS = "https://senim.kz/problems#"
# Every code a VC-API refusal gives (its `code`, `title` and `error.code`) but the chain's
# own: a refusal by the ledger rules when issuing or revoking gives the ledger's code
# (ledger.errors.TxRejected: not_accredited, already_revoked, mempool_full, ...).
VC_CODES: Mapping[str, str] = {
    "malformed": "the request or its credential is malformed (params.field names where)",
    "bad_parameter": "a path parameter does not fit (a status list's id)",
    "missing_body": "the request has no body",
    "unsupported_media_type": "the body is not application/json (in UTF-8), or is in a "
                              "content coding the node does not inflate",
    "body_too_large": "the body is over the route's limit, or this client's burst",
    "body_timeout": "the body did not arrive in time",
    "rate_limited": "over this client's rate (Retry-After)",
    "busy": "VC workers, issuing or the node busy (Retry-After)",
    "vc_worker_lost": "a VC worker died while checking this document",
    "store_damaged": "this node's store is damaged: ask another node",
    "store_unreadable": "this node's files are not readable by its user: ask another node",
    "internal": "an error of the node's own (in its log)",
    "connection_lost": "the connection closed before the request was read",
    "not_found": "no such route",
    "method_not_allowed": "the route answers other methods (Allow)",
    "http_error": "another HTTP refusal",
    "issuing_disabled": "this node does not issue",
    "unauthorized": "no valid issuing token",
    "wrong_issuer": "the credential names another issuer than this node's",
    "unsupported_status": "a status other than revoked (Senim has no suspension)",
    "unknown_credential": "this node issued no credential with this id since it started",
    "not_committed": "the transaction was not committed in time; it may still be",
    "rejected": "the chain refused the transaction after admitting it",
    "no_such_batch": "no batch with this root is on chain",
    "status_list_not_held": "this node joined by state sync and holds no blocks that old",
}
# The codes of a verification result's problems (`errors`, `warnings`): a failed one's is
# its verdict's status (ledger.verification.Verdict, ledger.vc.verify.VcVerdict).
RESULT_CODES: Mapping[str, str] = {
    "malformed": "not a credential this node can read", "tampered": "altered since signed",
    "expired": "past its validUntil", "unknown": "not on this chain",
    "unaccredited": "its issuer was not accredited for it",
    "revoked": "revoked", "superseded": "superseded by a correction",
    "compromised_key": "signed with a key reported stolen",
    "accreditation_compromised": "its issuer was accredited only with a key reported stolen",
    "admission_compromised": "its issuer was admitted with a ministry's key reported stolen",
    "revocation_doubted": "revoked with a key reported stolen: ask its issuer",
    "newer_format": "a format this node does not read yet",
    "original_invalid": "a recognition whose original fails",
    "original_revoked": "a recognition whose original is revoked",
    "original_unchecked": "a recognition whose original could not be checked",
    "inconsistent": "an employment record that disagrees with the chain",
    "not_checked": "(a warning) something the verification did not check",
    "not_on_chain": "(a warning) a credential whose proof holds but that no Senim chain "
                    "records: anyone can sign one with a key of their own",
}
# A code as the codes above are written: what a ledger refusal's code is too.
CODE_PATTERN = "^[a-z][a-z0-9_]*$"
# Headers of a refusal kept when its body is rewritten.
_KEPT_HEADERS = ("Allow", "Retry-After", "Connection", "Accept-Post", "Accept-Encoding")

Params = Mapping[str, str | int]


class FieldProblem(InvalidDocument):
    """A VC-API request that is malformed in one named field (`params`: the field and,
    where one applies, its limit)."""

    def __init__(self, message: str, **params: str | int) -> None:
        super().__init__(message)
        self.params: dict[str, str | int] = params


def problem_type(code: str) -> str:
    return PROBLEM_TYPES.get(code, SENIM_PROBLEMS + code)


def problem(status: int, code: str, message: str, params: Params | None = None
            ) -> web.Response:
    """A VC-API refusal: the node's error (with `params` when it names specifics); the
    problem-details members are added on the way out (`vc_problems`)."""
    error: dict[str, object] = {"code": code, "message": message}
    if params:
        error["params"] = dict(params)
    return web.json_response({"error": error}, status=status)


def params_of(exc: InvalidDocument) -> Params | None:
    return exc.params if isinstance(exc, FieldProblem) else None


def problem_details(status: int, error: Mapping[str, Any]) -> dict[str, Any]:
    """The node's `error` object as RFC 9457 problem details, the error kept as a member."""
    code, message = str(error.get("code", "http_error")), str(error.get("message", ""))
    body: dict[str, Any] = {"type": problem_type(code), "status": status, "title": code,
                            "detail": message, "code": code}
    if error.get("params"):
        body["params"] = error["params"]
    body["error"] = dict(error)
    return body


def result_warnings(verdict: VcVerdict) -> list[dict[str, object]]:
    """A verification result's `warnings` (ProblemDetails): the verdict's own, and, of a
    presentation, one for each credential it holds that no chain records, naming it by its
    index in `verifiableCredential` (`credential`): a client reading the result alone, not
    the verdict beside it, was told that a credential anyone could have signed verified,
    and nothing else."""
    said = [_result_warning(warning) for warning in verdict.warnings]
    said += [{**_result_warning(NOT_ON_CHAIN), "credential": index}
             for index, held in enumerate(verdict.credentials) if NOT_ON_CHAIN in held.warnings]
    return said


def _result_warning(warning: str) -> dict[str, object]:
    # "not_on_chain" is more than a check not made: a client may refuse on its code alone
    code = FIXED[NOT_ON_CHAIN] if warning == NOT_ON_CHAIN else "not_checked"
    return {"type": SENIM_PROBLEMS + code, "code": code, "title": code.replace("_", " "),
            "detail": warning}


def _reworded(status: int, text: str | None, headers: Mapping[str, str]
              ) -> web.Response | None:
    """The refusal `text` as problem details, or None when it is no node error."""
    try:
        answer = json.loads(text or "")
    except ValueError:
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict) or "type" in answer:
        return None
    kept = {name: headers[name] for name in _KEPT_HEADERS if name in headers}
    return web.json_response(problem_details(status, error), status=status, headers=kept)


def _closing_as(refusal: web.Response, response: web.StreamResponse) -> web.Response:
    """`refusal`, closing its connection after it if `response` was to (a refusal made
    before a body was read: `node.api_schema.unsupported_media`)."""
    if response.keep_alive is False:
        refusal.force_close()
    return refusal


@web.middleware
async def vc_problems(request: web.Request, handler: Callable[
        [web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Every error answer on a VC-API path as problem details (see the module)."""
    if not request.path.startswith(VC_PATHS):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type != "application/json":
            raise
        reworded = _reworded(exc.status, exc.text, exc.headers)
        if reworded is None:
            raise
        return reworded
    if (response.status < 400 or type(response) is not web.Response
            or response.content_type != "application/json"
            or not isinstance(response.body, bytes)):
        return response
    reworded = _reworded(response.status, response.text, response.headers)
    return response if reworded is None else _closing_as(reworded, response)

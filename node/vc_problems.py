"""The VC-API's refusals as problem details (RFC 9457), with the node's error beside them.

The VC-API asks that its errors follow RFC 9457 and carry at least `status` and `title`,
and the VC data model's ProblemDetails (the verify routes' `errors`) requires `type`. So
every error answer on a VC-API path (`/credentials/...`, `/presentations/...`), whoever
refused it (the route, the client's rate, a busy pool, the parameter guard, the router),
is one JSON object with:

- `type` (a URL: the specification's where it names one, else SENIM_PROBLEMS + the code),
  `status` (the HTTP status), `title` (the code) and `detail` (the English message);
- `params`, an extension member, when the refusal names specifics (a limit, the field at
  fault, or a ledger refusal's member, type and height), so that a client can say them in
  its own language, as the node's own API gives them;
- `error`, the node's own `{"code", "message", "params"}` as every other route gives it,
  so a client of the node's API reads a VC-API refusal as it reads any other.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from ledger.errors import InvalidDocument

VC_PATHS = ("/credentials/", "/presentations/")
# ProblemDetails types: the specifications' error URLs where they name one.
PROBLEM_TYPES = {
    "malformed": "https://www.w3.org/TR/vc-data-model#MALFORMED_VALUE_ERROR",
    "tampered": "https://w3id.org/security#PROOF_VERIFICATION_ERROR",
}
SENIM_PROBLEMS = "https://senim.kz/problems#"
# Headers of a refusal kept when its body is rewritten.
_KEPT_HEADERS = ("Allow", "Retry-After", "Connection", "Accept-Post")

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
                            "detail": message}
    if error.get("params"):
        body["params"] = error["params"]
    body["error"] = dict(error)
    return body


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

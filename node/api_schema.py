"""One declaration per HTTP route, from which both the router and /openapi.json are made.

A `Route` names its handler, its path parameters with their patterns or ranges, its
query parameters, its request body (by media type) and every response it can give, and
whether it answers HEAD. `add_routes` registers it behind a guard that checks the path
and query parameters, that a required body is present and that its Content-Type is one
the route reads (`node.media_types`), before any handler work; `openapi_document`
describes the same table as OpenAPI 3.1. The two cannot drift because there is nothing
else to edit.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import hdrs, web

from node.http_limits import cors_preflight, expect_body_later, json_error
from node.media_types import (
    CODINGS_NOT_INSTALLED,
    CODINGS_READ,
    accepted_types,
    coding_problem,
    media_problem,
    unsupported_coding,
)
from node.vc_problems import CODE_PATTERN, VC_CODES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Schema = dict[str, Any]
JSON = "application/json"

ERROR_REF: Schema = {"$ref": "#/components/schemas/Error"}
# A refusal's specifics by name (the member, a height, a limit its English message names),
# for a client that says the refusal in another language; absent when it names none.
REFUSAL_PARAMS: Schema = {
    "type": "object", "additionalProperties": {"type": ["string", "integer"]},
    "description": "The specifics the message names, by name: member (a name), member_id, "
                   "height, limit, version, type, field, accepted (the media types a route "
                   "reads), codings (the content codings the node inflates), ... "
                   "(ledger/errors.py TxRejected.params)"}
ERROR_OBJECT: Schema = {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "params": REFUSAL_PARAMS}}
ERROR_SCHEMA: Schema = {"type": "object", "required": ["error"],
                        "properties": {"error": ERROR_OBJECT}}
# A VC-API refusal (node.vc_problems): RFC 9457 problem details, as the VC-API asks
# (status and title) and the VC data model's ProblemDetails requires (type); `params`
# and the node's own `error` are extension members.
VC_PROBLEM_REF: Schema = {"$ref": "#/components/schemas/VcProblem"}


def code_schema(codes: Mapping[str, str], others: str) -> Schema:
    """A stable code: one of `codes` (listed with what each means), or one of `others`."""
    return {"type": "string", "description": "stable and machine-readable; one of: " + "; ".join(
                f"{code} ({meaning})" for code, meaning in codes.items()) + "; or " + others,
            "anyOf": [{"enum": list(codes)}, {"pattern": CODE_PATTERN, "description": others}]}


VC_PROBLEM_SCHEMA: Schema = {
    "type": "object", "required": ["type", "status", "title", "detail", "code", "error"],
    "properties": {
        "code": code_schema(VC_CODES, "a refusal by the chain (issuing or revoking: 403, 409, "
                            "429), the ledger's own code (not_accredited, already_revoked, "
                            "mempool_full, ...)"),
        "type": {"type": "string", "format": "uri",
                 "description": "the problem type: a specification's error URL, else "
                                "https://senim.kz/problems# and the code"},
        "status": {"type": "integer", "description": "the HTTP status"},
        "title": {"type": "string", "description": "the code"},
        "detail": {"type": "string", "description": "the message, in English"},
        "params": REFUSAL_PARAMS,
        "error": ERROR_OBJECT}}
BINARY: Schema = {"type": "string", "format": "binary"}
_DIGITS = re.compile(r"[0-9]{1,20}")
# A number as a query gives it: ASCII digits, a fraction and an exponent as JSON writes
# them, no sign (float() also takes "inf", "nan", Unicode digits and "1_0").
_DECIMAL = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?(?:[eE][-+]?[0-9]{1,3})?")


def hex_bytes(size: int, most: int | None = None) -> Schema:
    """A string of hex: exactly `size` bytes, or `size` to `most` bytes."""
    count = f"{{{size}}}" if most is None else f"{{{size},{most}}}"
    return {"type": "string", "pattern": f"^(?:[0-9a-fA-F]{{2}}){count}$"}


def obj(required: Mapping[str, Schema], optional: Mapping[str, Schema] | None = None
        ) -> Schema:
    """A JSON object with these members; others may be present (the API may grow)."""
    return {"type": "object", "required": list(required),
            "properties": {**required, **(optional or {})}}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


@dataclass(frozen=True)
class Param:
    """A path or query parameter: a string with a pattern, or an integer in a range."""

    name: str
    schema: Schema
    description: str = ""

    def problem(self, raw: str) -> str | None:
        """Why `raw` does not fit the declared schema, or None when it does."""
        kind = self.schema.get("type")
        if kind in ("integer", "number"):
            low = self.schema.get("minimum", 0)
            high = self.schema.get("maximum", 2**63 - 1)
            if kind == "integer":
                if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
                    return f"{self.name} must be an integer from {low} to {high}"
            elif not _DECIMAL.fullmatch(raw) or not low <= float(raw) <= high:
                return f"{self.name} must be a number from {low:g} to {high:g}"
            return None
        allowed = self.schema.get("enum")
        if allowed is not None and raw not in allowed:
            return f"{self.name} must be one of {', '.join(allowed)}"
        longest = self.schema.get("maxLength")
        if longest is not None and len(raw) > longest:
            return f"{self.name} must be at most {longest} characters: {self.description}"
        pattern = self.schema.get("pattern")
        if pattern is not None and not re.fullmatch(pattern, raw):
            return f"{self.name} must match {pattern}: {self.description}"
        return None

    def describe(self, where: str) -> Schema:
        described: Schema = {"name": self.name, "in": where, "required": where == "path",
                             "schema": self.schema}
        if self.description:
            described["description"] = self.description
        return described


@dataclass(frozen=True)
class Reply:
    """One response: its media types with their schemas (none for an empty body)."""

    description: str
    content: Mapping[str, Schema] = field(default_factory=dict)
    headers: tuple[str, ...] = ()


def error_reply(description: str, headers: tuple[str, ...] = ()) -> Reply:
    return Reply(description, {JSON: ERROR_REF}, headers)


def vc_error_reply(description: str, headers: tuple[str, ...] = ()) -> Reply:
    return Reply(description, {JSON: VC_PROBLEM_REF}, headers)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    responses: Mapping[int, Reply]
    params: tuple[Param, ...] = ()
    query: tuple[Param, ...] = ()
    body: Mapping[str, Schema] | None = None
    cors_preflight: bool = False
    # A GET whose answer is worked out off the event loop (in the verification pool, or
    # by ledger jobs) answers HEAD 405 (Allow: GET): its headers would cost the answer.
    head: bool = True

    def operation_id(self, method: str) -> str:
        return method.lower() + re.sub(r"[^A-Za-z0-9]+", "_", self.path)

    def operation(self) -> Schema:
        op: Schema = {"summary": self.summary, "operationId": self.operation_id(self.method),
                      "responses": {str(status): _describe_reply(reply)
                                    for status, reply in sorted(self.responses.items())}}
        parameters = ([p.describe("path") for p in self.params]
                      + [q.describe("query") for q in self.query])
        if parameters:
            op["parameters"] = parameters
        if self.body is not None:
            op["requestBody"] = {"required": True, "content": {
                media: {"schema": schema} for media, schema in self.body.items()}}
            if 415 not in self.responses:  # the guard's (`unsupported_media`)
                op["responses"]["415"] = _describe_reply(self._error_reply(
                    "The body's Content-Type is not one this route reads (" + accepted_types(
                        self.body) + "); Accept-Post names them. Or its Content-Encoding is "
                    "not one this node inflates (" + " or ".join(CODINGS_READ) + ", or none); "
                    "Accept-Encoding names them" + (
                        " (" + " and ".join(CODINGS_NOT_INSTALLED) + ", whose decoders are "
                        "not installed, are refused so as the request's head is read, before "
                        "any route, in the node's own error shape)"
                        if CODINGS_NOT_INSTALLED else ""), ("Accept-Post", "Accept-Encoding")))
        if self.method == "GET" and not self.head:
            op["description"] = HEAD_REFUSED
        return op

    def _error_reply(self, description: str, headers: tuple[str, ...]) -> Reply:
        """A refusal in the shape this route's others have (a VC-API route's: problem
        details)."""
        vc = any(VC_PROBLEM_REF in reply.content.values() for reply in self.responses.values())
        return (vc_error_reply if vc else error_reply)(description, headers)


def _describe_reply(reply: Reply) -> Schema:
    described: Schema = {"description": reply.description}
    if reply.content:
        described["content"] = {media: {"schema": schema}
                                 for media, schema in reply.content.items()}
    if reply.headers:
        described["headers"] = {name: {"schema": {"type": "string"}}
                                for name in reply.headers}
    return described


HEAD_REFUSED = ("HEAD is refused here (405, Allow: GET): this answer is worked out in the "
                "node's verification pool or by ledger jobs, so its headers would cost as "
                "much as the answer itself")
PREFLIGHT: Schema = {"summary": "CORS preflight: any origin may POST here",
                     "responses": {"204": {"description": "Allowed methods and headers"}}}


def _guarded(route: Route) -> Handler:
    """The handler behind checks of what the declaration promises: path parameters, and
    query parameters given (once at most), fit their declarations, and a declared body
    is there. A 400 here costs no handler work."""
    async def guarded(request: web.Request) -> web.StreamResponse:
        given = [(param, request.match_info[param.name]) for param in route.params] + [
            (param, raw) for param in route.query for raw in request.query.getall(param.name, [])]
        for param in route.query:
            if len(request.query.getall(param.name, [])) > 1:
                # The handler reads one: ?format=json&format=raw was answered raw.
                return json_error(400, "bad_parameter", f"{param.name} is given more than "
                                  "once; give it once", params={"field": param.name})
        for param, raw in given:
            problem = param.problem(raw)
            if problem is not None:
                return json_error(400, "bad_parameter", problem, params={"field": param.name})
        if route.body is not None and not request.body_exists:
            return json_error(400, "missing_body", "this request needs a body: "
                              + accepted_types(route.body))
        if route.body is not None:
            problem = media_problem(route.body, request.headers.get(hdrs.CONTENT_TYPE))
            if problem is not None:
                return unsupported_media(route.body, problem)
            problem = coding_problem(request.headers.getall(hdrs.CONTENT_ENCODING, []))
            if problem is not None:
                return unsupported_coding(problem)
        return await route.handler(request)

    guarded.__name__ = route.handler.__name__
    return guarded


def unsupported_media(declared: Mapping[str, Schema], problem: str) -> web.Response:
    """415 for a body of a type its route does not read (`node.media_types`), before any
    of it is read or charged; the connection is closed rather than kept for a next
    request behind a body the node will not read."""
    accepted = accepted_types(declared)
    refusal = json_error(415, "unsupported_media_type", problem, params={"accepted": accepted},
                         headers={"Accept-Post": accepted.replace(" or ", ", ")})
    refusal.force_close()
    return refusal


def add_routes(app: web.Application, routes: Iterable[Route]) -> None:
    for route in routes:
        if route.method == "GET":  # HEAD too, as aiohttp's add_get does, unless refused
            app.router.add_get(route.path, _guarded(route), allow_head=route.head,
                               expect_handler=expect_body_later)
        else:
            app.router.add_route(route.method, route.path, _guarded(route),
                                 expect_handler=expect_body_later)
        if route.cors_preflight:
            app.router.add_route("OPTIONS", route.path, cors_preflight,
                                 expect_handler=expect_body_later)


def openapi_document(routes: Iterable[Route], info: Schema) -> Schema:
    paths: dict[str, Schema] = {}
    for route in routes:
        entry = paths.setdefault(route.path, {})
        entry[route.method.lower()] = route.operation()
        if route.cors_preflight:
            entry["options"] = {**PREFLIGHT, "operationId": route.operation_id("OPTIONS")}
    return {"openapi": "3.1.0", "info": info, "paths": paths,
            "components": {"schemas": {"Error": ERROR_SCHEMA, "VcProblem": VC_PROBLEM_SCHEMA}}}

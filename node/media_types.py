"""The Content-Type a route's request body may come in, checked before the handler reads the
body (a refused one's connection then ends: what the client sends on is thrown away
unparsed, as far as node.http_limits' REFUSED_BODY_DRAIN_S and REFUSED_BODY_DRAIN_BYTES_MAX
allow, by node.http_server.WordedRequestHandler).

A body is read as its route's declaration says (`node.api_schema.Route.body`): JSON for
the verification, proof and VC-API routes, JSON or msgpack for submissions. A body sent
as text/plain, as a form, as XML or with no Content-Type at all was read as if it were
the route's type; a careless client's mistake was then reported as a malformed body, or
(for a form that curl's `-d` made of a document, its line ends dropped) not at all. So a
body whose Content-Type is not one its route reads is refused 415 before anything is
read or charged, naming the types the route reads (`Accept-Post` says them too).

- A JSON route reads `application/json`, with no charset or charset=utf-8 (RFC 8259: JSON
  between systems is UTF-8), in any case of letters; other parameters are ignored.
- `application/msgpack` is bytes: its parameters are ignored.
- A route that reads any document's bytes (`ANY_DOCUMENT`: the anchored-document lookup,
  whose body is hashed as it is) takes any type, or none, but a form's (`FORM_TYPES`): a
  form is an envelope around the document, or (curl's `-d`) the document altered.

Writes that a web page of another origin could make without a CORS preflight are
text/plain, form and multipart bodies (the Fetch standard's "simple" requests): none of
them reaches a JSON route's handler now.

A body's Content-Encoding is held to what aiohttp inflates as it reads (`CODINGS_READ`),
or none (`identity`): aiohttp reads a body in any other coding (`compress`, `x-gzip`), or
in a list of codings (`gzip, gzip`), as though it were in none, so /v1/verify answered a
verdict on bytes the client said were compressed and /v1/verify/anchor hashed them. It
does the same with a value holding a character that is not ASCII (`gzip` and a no-break
space), trimming only space and tab from it. Such a body is refused 415 too, before it is
read (RFC 9110 8.4.1), with Accept-Encoding naming the codings read (RFC 7694)
(`unsupported_coding`). A body in br or zstd without its package installed
(`CODINGS_NOT_INSTALLED`) never reaches a route: aiohttp's parser, which would inflate it,
fails as the head is read (the decoder is missing). The node's connection handler answers
that with the same 415 and words (`node.http_server.WordedRequestHandler`), and drains
the body unparsed as any other refused one; before, it was aiohttp's 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from aiohttp import web
from aiohttp.compression_utils import HAS_BROTLI, HAS_ZSTD
from aiohttp.helpers import parse_mimetype

from node.http_limits import json_error

JSON = "application/json"
ANY_DOCUMENT = "*/*"
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# The types whose bodies are text, read as UTF-8 and nothing else.
TEXT_TYPES = frozenset({JSON})
UTF_8 = frozenset({"utf-8", "utf8"})
# A client's Content-Type is named back only when it is a short media type (it may be up
# to a header line's 8,190 bytes of anything).
_NAMEABLE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
# The content codings aiohttp's parser inflates: br and zstd only with their packages.
CODINGS_READ: tuple[str, ...] = ("gzip", "deflate", *(("br",) if HAS_BROTLI else ()),
                                 *(("zstd",) if HAS_ZSTD else ()))
CODINGS_NOT_INSTALLED: tuple[str, ...] = (*(() if HAS_BROTLI else ("br",)),
                                          *(() if HAS_ZSTD else ("zstd",)))
NO_CODING = frozenset({"", "identity"})
# Codings are named back only when they are a few short tokens (as a media type is).
_CODING = r"[a-z0-9!#$%&'*+^_`|~.-]{1,40}"
_CODINGS_NAMEABLE = re.compile(f"{_CODING}(?:, ?{_CODING}){{0,3}}")
_CHARSET = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$%&'+^_`{}~.-]{0,39}")


def accepted_types(declared: Iterable[str]) -> str:
    """What a refusal says the route reads, e.g. "application/json or application/msgpack"."""
    return " or ".join(media for media in declared if media != ANY_DOCUMENT)


def media_problem(declared: Iterable[str], header: str | None) -> str | None:
    """Why a body whose Content-Type is `header` (None: not given) is not one a route
    declaring the media types `declared` reads, in a sentence; None when it is. (Two
    Content-Type headers never get here: aiohttp's parser refuses the request, 400.)"""
    reads = tuple(declared)
    names = accepted_types(reads)
    any_document = ANY_DOCUMENT in reads
    if header is None or not header.strip():
        if any_document:
            return None  # RFC 9110: a body of no stated type is so many bytes
        return f"the request gives no Content-Type; this route reads {names}"
    parsed = parse_mimetype(header)
    # aiohttp parts a structured suffix from the subtype: application/ld+json is ld, json
    suffix = f"+{parsed.suffix}" if parsed.suffix else ""
    media = f"{parsed.type}/{parsed.subtype}{suffix}".lower()
    said = media if _NAMEABLE.fullmatch(media) else "a type this node cannot read"
    if any_document and media not in FORM_TYPES and _NAMEABLE.fullmatch(media):
        return None
    if media not in reads:
        if media in FORM_TYPES and any_document:
            return (f"the request's body is {said}, a form around the document (or, made by "
                    f"curl -d, the document altered); send the document's own bytes as "
                    f"{names} (curl --data-binary @FILE -H 'Content-Type: {names}')")
        return f"the request's body is {said}; this route reads {names}"
    charset = parsed.parameters.get("charset")
    if media in TEXT_TYPES and charset is not None and charset.lower() not in UTF_8:
        named = charset if _CHARSET.fullmatch(charset) else "one this node cannot read"
        return (f"the request's body is {media} in charset {named}; this route reads "
                f"{media} in UTF-8 (no charset, or charset=utf-8)")
    return None


def coding_problem(headers: Iterable[str]) -> str | None:
    """Why a body whose Content-Encoding headers are `headers` is in a coding this node
    does not read, in a sentence; None when it is in one it inflates, or in none."""
    # Trimmed as aiohttp trims a header's value (space and tab only): str.strip() also
    # takes NBSP, U+3000 and NEL, so 'gzip\xa0' passed here as gzip while aiohttp, which
    # inflates only an ASCII value, read the body as though it were in no coding.
    given = [header.strip(" \t") for header in headers]
    if not given or (len(given) == 1 and given[0].isascii()
                     and given[0].lower() in NO_CODING):
        return None
    if len(given) == 1 and given[0].isascii() and given[0].lower() in CODINGS_READ:
        return None
    codings = ", ".join(given).lower()
    said = codings if codings.isascii() and _CODINGS_NAMEABLE.fullmatch(codings) else (
        "one this node cannot read")
    return (f"the request's body is in content coding {said}; this node reads a body in "
            f"{' or '.join(CODINGS_READ)}, or in none")


def unsupported_coding(problem: str) -> web.Response:
    """415 for a body in a content coding the node does not inflate (`coding_problem`),
    which aiohttp would read as though it were in none; the connection is closed rather
    than kept for a next request behind a body the node will not read."""
    refusal = json_error(415, "unsupported_media_type", problem,
                         params={"codings": " or ".join(CODINGS_READ)},
                         headers={"Accept-Encoding": ", ".join(CODINGS_READ)})
    refusal.force_close()
    return refusal

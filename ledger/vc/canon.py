"""RDFC-1.0 canonicalisation over the bundled JSON-LD contexts only.

A verifier must never fetch a context: a context served by someone else could
change what a signed document means. The loader here serves the files listed
in `contexts/SHA256SUMS`, each checked against its recorded SHA-256 when first
read, and refuses every other URL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from ledger.errors import InvalidDocument

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
SENIM_CONTEXT = "https://senim.kz/contexts/credentials/v1"
# Each document canonicalised costs CPU in the verifier; a nested or huge one is
# refused before PyLD sees it.
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_DEPTH = 32
# JSON values (objects, arrays, strings, numbers...) in one document. PyLD checks each
# value of a property against those it already holds (to drop duplicates), so a
# property of n values costs n² comparisons: 8,000 short strings in 63 KB took 20 s,
# and 256 KB would hold a worker for minutes. Credentials hold a few hundred.
MAX_DOCUMENT_VALUES = 2_048
# RDFC-1.0 tells blank nodes with equal neighbourhoods apart by trying every ordering
# of them (Hash N-Degree Quads), which grows as a factorial: a 2 KB "poison" document
# of 10 blank nodes, all linked to each other, would hold a worker for hours. The
# specification asks implementations to bound this work; each N-degree hash and each
# ordering of related blank nodes it will try counts one unit. Credentials, whose
# blank nodes differ in their own statements, need none.
MAX_CANON_WORK = 2_000

MAX_CACHED_CONTEXTS = 256
Loader = Callable[[str, Any], dict[str, Any]]


def _sums() -> list[tuple[str, str, str]]:
    """(sha256, file, url) for each bundled context."""
    text = resources.files("ledger.vc").joinpath("contexts/SHA256SUMS").read_text("utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name, url = line.split()[:3]
            rows.append((digest, name, url))
    return rows


@cache
def bundled_contexts() -> Mapping[str, Any]:
    """URL -> parsed context, after checking every file against its recorded hash."""
    contexts: dict[str, Any] = {}
    folder = resources.files("ledger.vc").joinpath("contexts")
    for digest, name, url in _sums():
        data = folder.joinpath(name).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise RuntimeError(f"bundled context {name} does not match its SHA-256: "
                               "the package is damaged")
        contexts[url] = json.loads(data)
    return contexts


def make_loader(extra: Mapping[str, Any] | None = None) -> Loader:
    """A PyLD document loader over the bundled contexts (plus `extra`, for tests)."""
    served = dict(bundled_contexts())
    served.update(extra or {})

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url not in served:
            raise InvalidDocument(f"unknown JSON-LD context {url!r}: only bundled contexts "
                                  "are used, nothing is fetched", "vc_unknown_context",
                                  url=repr(url)[:120])
        # "static": PyLD may keep the processed context across documents (they never change).
        return {"contextUrl": None, "documentUrl": url, "document": served[url], "tag": "static"}

    # Processed contexts are kept per loader, never in PyLD's process-wide cache:
    # what one loader serves must not leak into documents read through another.
    load.processed = LRUCache(maxsize=MAX_CACHED_CONTEXTS)  # type: ignore[attr-defined]
    return load


_LOADER = make_loader()


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def _values(document: Any) -> int:
    """How many JSON values `document` holds, itself included (its depth is bounded)."""
    if isinstance(document, dict):
        return 1 + sum(_values(v) for v in document.values())
    if isinstance(document, list):
        return 1 + sum(_values(v) for v in document)
    return 1


def _holds_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_holds_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_null(v) for v in value)
    return False


def _check_inline_contexts(value: Any) -> None:
    """Refuse inline contexts that null a term: PyLD has no "safe mode", and a term
    mapped to null would be dropped from the signed N-Quads yet shown to a reader."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                for context in item if isinstance(item, list) else [item]:
                    if not isinstance(context, str) and _holds_null(context):
                        raise InvalidDocument("an inline @context maps a term to null: its "
                                              "value would not be covered by the proof",
                                              "vc_uncovered")
            _check_inline_contexts(item)
    elif isinstance(value, list):
        for item in value:
            _check_inline_contexts(item)


class _SafeProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """PyLD with the "safe mode" that Data Integrity asks for: a property or type
    that does not expand to an absolute IRI would be silently dropped from the
    signed N-Quads while a reader still sees it, so it is an error instead."""

    def _expand_object(self, active_ctx: Any, active_property: Any,
                       expanded_active_property: Any, element: Any, *args: Any,
                       **kwargs: Any) -> Any:
        # The same test, on the same active context, as PyLD's own before it drops a key.
        for key in element:
            if key == "@context":
                continue
            expanded = self._expand_iri(active_ctx, key, vocab=True)
            if expanded is None or not (jsonld._is_absolute_iri(expanded)
                                        or jsonld._is_keyword(expanded)):
                raise InvalidDocument(f"the term {key[:60]!r} is not defined by the document's "
                                      "contexts: it would not be covered by the proof",
                                      "vc_undefined_term", term=repr(key[:60]))
        return super()._expand_object(active_ctx, active_property, expanded_active_property,
                                      element, *args, **kwargs)

    def expand(self, input_: Any, options: Any) -> Any:
        expanded = super().expand(input_, options)
        _require_absolute_iris(expanded)
        return expanded

    def normalize(self, input_: Any, options: Any) -> Any:
        """PyLD's normalize for a JSON-LD input and URDNA2015, with the work bounded."""
        rdf_options = {k: v for k, v in options.items() if k not in ("format", "algorithm")}
        rdf_options.update(produceGeneralizedRdf=False, extractAllScripts=True,
                           processingMode="json-ld-1.1", base="")
        dataset = self.to_rdf(input_, rdf_options)
        return _BoundedCanonicaliser().main(dataset, options)


class _BoundedCanonicaliser(jsonld.URDNA2015):  # type: ignore[misc]
    """RDFC-1.0 (PyLD's URDNA2015) that refuses a document needing more than
    MAX_CANON_WORK units of blank-node disambiguation (see MAX_CANON_WORK)."""

    def __init__(self) -> None:
        super().__init__()
        self.work = 0

    def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
        # Called once per N-degree hash, whose loop then tries every ordering of each
        # group of related blank nodes: charge them all before any is tried.
        related: dict[str, list[str]] = super().create_hash_to_related(id_, issuer)
        self._charge(1)
        for group in related.values():
            self._charge(_orderings(len(group)))
        return related

    def _charge(self, units: int) -> None:
        self.work += units
        if self.work > MAX_CANON_WORK:
            raise InvalidDocument(
                "canonicalising this document's blank nodes takes more than "
                f"{MAX_CANON_WORK} steps: too many indistinguishable blank nodes",
                "vc_too_large")


def _orderings(count: int) -> int:
    """count!, or MAX_CANON_WORK + 1 once it exceeds the budget (never a huge integer)."""
    total = 1
    for factor in range(2, count + 1):
        total *= factor
        if total > MAX_CANON_WORK:
            return MAX_CANON_WORK + 1
    return total


def _require_absolute_iris(value: Any) -> None:
    """Relative ids and types vanish from N-Quads (a relative node id takes all its
    statements with it): refuse them rather than sign or accept less than is shown."""
    if isinstance(value, list):
        for item in value:
            _require_absolute_iris(item)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key in ("@id", "@type"):
            for iri in item if isinstance(item, list) else [item]:
                if isinstance(iri, str) and not (iri.startswith("_:") or iri == "@json"
                                                 or jsonld._is_absolute_iri(iri)):
                    raise InvalidDocument(f"{iri[:60]!r} is not an absolute IRI (or a term the "
                                          "contexts define): it would not be covered by the proof",
                                          "vc_undefined_term", term=repr(iri[:60]))
        elif key != "@value":
            _require_absolute_iris(item)


def _processed_cache(loader: Loader) -> Any:
    cache = getattr(loader, "processed", None)
    return cache if cache is not None else LRUCache(maxsize=MAX_CACHED_CONTEXTS)


def canonize(document: Mapping[str, Any], loader: Loader | None = None) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document."""
    try:
        # as UTF-8: also refuses lone surrogates, which JSON escapes can carry
        size = len(json.dumps(document, ensure_ascii=False).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"not JSON data: {exc}", "vc_not_json") from exc
    if size > MAX_DOCUMENT_BYTES or _depth(document) > MAX_DEPTH:
        raise InvalidDocument(f"document exceeds {MAX_DOCUMENT_BYTES} bytes or "
                              f"{MAX_DEPTH} levels of nesting", "vc_too_large")
    if _values(document) > MAX_DOCUMENT_VALUES:
        raise InvalidDocument(f"document holds more than {MAX_DOCUMENT_VALUES} JSON values",
                              "vc_too_large")
    _check_inline_contexts(document)
    loader = loader or _LOADER
    options = {"algorithm": "URDNA2015", "format": "application/n-quads",
               "documentLoader": loader,
               "contextResolver": ContextResolver(_processed_cache(loader), loader)}
    try:
        result = _SafeProcessor().normalize(dict(document), options)
    except InvalidDocument:
        raise
    except jsonld.JsonLdError as exc:
        raise InvalidDocument(f"not valid JSON-LD: {_root_cause(exc)}", "vc_jsonld") from exc
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError,
            OverflowError) as exc:  # OverflowError: an integer too large for a JSON number
        raise InvalidDocument(f"not valid JSON-LD: {exc}", "vc_jsonld") from exc
    if not isinstance(result, str):
        raise InvalidDocument("canonicalisation produced no N-Quads", "vc_jsonld")
    return result


def _root_cause(exc: BaseException) -> str:
    """PyLD wraps our loader's refusal several times; say the innermost reason."""
    seen = exc
    while True:
        cause = getattr(seen, "cause", None) or seen.__cause__ or seen.__context__
        if cause is None or cause is seen:
            break
        seen = cause
    if isinstance(seen, InvalidDocument):
        return str(seen)
    return str(getattr(seen, "message", seen)).splitlines()[0]

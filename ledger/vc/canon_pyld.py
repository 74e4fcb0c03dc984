"""The PyLD side of `ledger.vc.canon`: its processor in the "safe mode" Data Integrity
asks for, and RDFC-1.0 with its blank-node work bounded. `canon.canonize` imports this
module only when a document is canonicalised."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver

from ledger.errors import InvalidDocument
from ledger.vc.canon import MAX_CANON_WORK, Loader


def normalize(document: Mapping[str, Any], loader: Loader, processed: Any) -> str:
    """The RDFC-1.0 canonical N-Quads of a document whose size `canon` has checked;
    `processed` keeps the contexts this loader's documents were read with."""
    options = {"algorithm": "URDNA2015", "format": "application/n-quads",
               "documentLoader": loader, "contextResolver": ContextResolver(processed, loader)}
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
            # A blank node ("_:x") passes PyLD's absolute-IRI test, but RDF has no blank
            # node predicates: to_rdf drops the statement as well.
            if expanded is None or expanded.startswith("_:") or not (
                    jsonld._is_absolute_iri(expanded) or jsonld._is_keyword(expanded)):
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

"""RDFC-1.0 canonicalisation over the bundled JSON-LD contexts only.

A verifier must never fetch a context: a context served by someone else could
change what a signed document means. The loader here serves the files listed
in `contexts/SHA256SUMS`, each checked against its recorded SHA-256 when first
read, and refuses every other URL.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from cachetools import LRUCache

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


class BundledLoader:
    """A PyLD document loader over the bundled contexts (plus `extra`, for tests), with
    the contexts PyLD processed from them and, when `remembered`, the canonical N-Quads
    of the last `remembered` documents read through it."""

    def __init__(self, extra: Mapping[str, Any] | None = None, remembered: int = 0) -> None:
        self.served = dict(bundled_contexts())
        self.served.update(extra or {})
        # Processed contexts are kept per loader, never in PyLD's process-wide cache:
        # what one loader serves must not leak into documents read through another.
        self.processed: LRUCache[str, Any] = LRUCache(maxsize=MAX_CACHED_CONTEXTS)
        # PyLD reads and writes that cache, and each processed context's own cache of the
        # contexts it resolves, unguarded: two threads canonicalising through one loader
        # (`senim verify` asks several nodes at once, cli.several_nodes) broke them
        # ("OrderedDict mutated during iteration", KeyError) and a genuine credential came
        # out malformed. PyLD is pure Python, so holding the lock loses no parallelism.
        self.lock = threading.Lock()
        self.canonical: LRUCache[str, str] | None = (
            LRUCache(maxsize=remembered) if remembered else None)

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        if url not in self.served:
            raise InvalidDocument(f"unknown JSON-LD context {url!r}: only bundled contexts "
                                  "are used, nothing is fetched", "vc_unknown_context",
                                  url=repr(url)[:120])
        # "static": PyLD may keep the processed context across documents (they never change).
        return {"contextUrl": None, "documentUrl": url, "document": self.served[url],
                "tag": "static"}


Loader = BundledLoader  # the one kind the ledger.vc functions are given as `loader`


# A command checking one document against several nodes canonicalises the same credentials
# (and proof options) for each: 5 nodes cost 5 times the CPU, all of it PyLD's. Kept by
# the SHA-256 of their JSON text, as many as a presentation holds with their proofs, and a
# few lists.
REMEMBERED_DOCUMENTS = 64


def remembering_loader() -> BundledLoader:
    """A loader for one command that checks one document several times (once per node
    asked): each document it canonicalises is canonicalised once, the first thread to
    need it doing the work while the others wait for its result."""
    return BundledLoader(remembered=REMEMBERED_DOCUMENTS)


_LOADER = BundledLoader()


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


def canonize(document: Mapping[str, Any], loader: Loader | None = None) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document."""
    try:
        # as UTF-8: also refuses lone surrogates, which JSON escapes can carry
        encoded = json.dumps(document, ensure_ascii=False).encode()
        size = len(encoded)
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"not JSON data: {exc}", "vc_not_json") from exc
    if size > MAX_DOCUMENT_BYTES or _depth(document) > MAX_DEPTH:
        raise InvalidDocument(f"document exceeds {MAX_DOCUMENT_BYTES} bytes or "
                              f"{MAX_DEPTH} levels of nesting", "vc_too_large")
    if _values(document) > MAX_DOCUMENT_VALUES:
        raise InvalidDocument(f"document holds more than {MAX_DOCUMENT_VALUES} JSON values",
                              "vc_too_large")
    _check_inline_contexts(document)
    # Imported here: PyLD brings requests and lxml, 0.2-0.3 s on a slow machine, which
    # every `senim` command paid that only reads or signs a native credential.
    from ledger.vc.canon_pyld import normalize
    loader = loader or _LOADER
    # keyed by the SHA-256 of the document's JSON text (json.dumps, key order kept): the
    # same text is the same document
    key = hashlib.sha256(encoded).hexdigest() if loader.canonical is not None else ""
    with loader.lock:
        if loader.canonical is None:
            return normalize(document, loader, loader.processed)
        canonical = loader.canonical.get(key)
        if canonical is None:
            canonical = loader.canonical[key] = normalize(document, loader, loader.processed)
        return canonical

"""A JSON body's commas and opening brackets are counted before it is parsed: a body
that holds more than its route allows is refused without the parser building it
(json.loads holds the GIL throughout, so the ledger thread waits for it), and text that
merely contains commas and brackets, in a document within the limits, is still read."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ledger.errors import InvalidDocument, MalformedInput
from node import vc_common
from node.public_work import JSON_SEPARATORS_MAX, JSON_VALUES_MAX, parse_json, separators
from node.vc_common import MAX_VC_BODY_SEPARATORS, parse_body


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the bodies json.loads was given (both modules call the json module's)."""
    sizes: list[int] = []
    loads: Callable[..., Any] = json.loads

    def counted(data: bytes, **options: Any) -> Any:  # a key given twice refused by a hook
        sizes.append(len(data))
        return loads(data, **options)

    monkeypatch.setattr(json, "loads", counted)
    return sizes


def empty_arrays(count: int) -> bytes:
    """An array of `count` empty arrays: `count` opening brackets past the first, and
    `count - 1` commas."""
    return b"[" + b",".join([b"[]"] * count) + b"]"


def test_a_verify_body_past_the_bound_is_refused_unparsed(parsed: list[int]) -> None:
    body = empty_arrays(JSON_SEPARATORS_MAX // 2 + 1)
    with pytest.raises(MalformedInput, match=f"at most {JSON_VALUES_MAX} values"):
        parse_json(body)
    assert parsed == []


def test_a_verify_document_whose_text_holds_commas_is_read(parsed: list[int]) -> None:
    """Its strings hold half the bound in commas and brackets; it has three values."""
    text = "a, [b], {c}" * (JSON_SEPARATORS_MAX // 8)
    document = {"note": text, "n": 1}
    assert parse_json(json.dumps(document).encode()) == document
    assert len(parsed) == 1


def test_a_vc_body_past_the_bound_is_refused_unparsed(parsed: list[int]) -> None:
    body = empty_arrays(MAX_VC_BODY_SEPARATORS // 2 + 1)
    assert len(body) < vc_common.MAX_VC_BODY_BYTES  # the size limit alone lets it in
    with pytest.raises(InvalidDocument, match="commas and opening brackets"):
        parse_body(body)
    assert parsed == []


def test_a_vc_body_at_the_bound_is_read_and_one_past_it_is_not(parsed: list[int]) -> None:
    """The bound is exact: a body holding it is parsed, one more comma (in its text) is
    refused unparsed."""
    arrays = (MAX_VC_BODY_SEPARATORS - 4) // 2
    body: dict[str, object] = {"verifiableCredential": [[] for _ in range(arrays)],
                               "note": ",,"}
    data = json.dumps(body, separators=(",", ":")).encode()
    # '{', the list's '[', each array's '[' and the ',' between them, the ',' before
    # "note" and the two in it
    assert separators(data) == MAX_VC_BODY_SEPARATORS
    assert parse_body(data) == body
    assert len(parsed) == 1
    with pytest.raises(InvalidDocument, match="commas and opening brackets"):
        parse_body(data.replace(b'",,"', b'",,,"'))
    assert len(parsed) == 1

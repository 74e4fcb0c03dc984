"""Checking a decoded wire value field by field: the helpers every payload decoder uses,
and the vocabularies fields are checked against. A bad field is a MalformedInput
that names it, with a code for what is wrong and the field's name and bounds as params
(a reader in another language is told them: cli/refusals.py)."""

from __future__ import annotations

from ledger.errors import MalformedInput, Unrecognised

MAX_TEXT_CHARS = 200
HASH_BYTES = 32
MAX_HEIGHT = 2**63 - 1
ROLES = ("ministry", "university", "school", "employer")

WireValue = object  # a decoded msgpack value, not yet checked


def require_text(value: WireValue, what: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise MalformedInput(f"{what} must be non-empty text of at most {max_chars} characters",
                             "field_text", field=what, max=max_chars)
    return value


def require_bytes(value: WireValue, what: str, size: int) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise MalformedInput(f"{what} must be {size} bytes", "field_bytes", field=what,
                             size=size)
    return value


def require_int(value: WireValue, what: str, low: int = 0, high: int = 2**63 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MalformedInput(f"{what} must be an integer in [{low}, {high}]", "field_range",
                             field=what, low=low, high=high)
    return value


def require_choice(value: WireValue, choices: tuple[str, ...], what: str) -> str:
    listed = ", ".join(choices)
    if not isinstance(value, str):
        raise MalformedInput(f"{what} must be one of {listed}", "field_choice", field=what,
                             choices=listed)
    if value not in choices:  # a later release may add to the list
        raise Unrecognised(f"{what} must be one of {listed}", "field_choice", field=what,
                           choices=listed)
    return value


def items_of(value: WireValue, arity: int, kind: str) -> list[WireValue]:
    if not isinstance(value, list) or len(value) != arity:
        raise MalformedInput(f"{kind} payload must be an array of {arity} items",
                             "payload_shape", kind=kind)
    return list(value)


def hashes_of(value: WireValue, what: str, max_items: int) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > max_items:
        raise MalformedInput(f"{what} must be a list of at most {max_items} hashes",
                             "field_hashes", field=what, max=max_items)
    return tuple(require_bytes(item, f"{what} entry", HASH_BYTES) for item in value)

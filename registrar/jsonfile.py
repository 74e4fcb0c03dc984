"""JSON exports: a top-level list of objects, streamed item by item (registrar.export)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

from registrar.phrases import Phrase, phrase
from registrar.problems import ProblemList
from registrar.rows import RawRow, SourceStats
from registrar.textfile import decode_failure, past_rows

CHUNK_CHARS = 256 * 1024
MAX_JSON_ITEM_CHARS = 1024 * 1024


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs in order, so repeated keys stay visible."""


class JsonFault(ValueError):
    """Why a JSON export cannot be read on, in English; `said`: as a phrase."""

    def __init__(self, said: Phrase) -> None:
        super().__init__(said.english)
        self.said = said


def _refuse_constant(name: str) -> Any:
    raise JsonFault(phrase("reg.json.constant", f"{name} is not allowed in JSON", name=name))


def _json_values(stream: TextIO) -> Iterator[Any]:
    """The items of a top-level JSON array, one at a time, holding one chunk in memory.
    Numbers keep the text they were written with."""
    decoder = json.JSONDecoder(object_pairs_hook=_Pairs, parse_float=str, parse_int=str,
                               parse_constant=_refuse_constant)
    buffer, pos, eof = "", 0, False

    def more() -> bool:
        nonlocal buffer, pos, eof
        chunk = stream.read(CHUNK_CHARS)
        eof = not chunk
        buffer, pos = buffer[pos:] + chunk, 0
        return not eof

    def next_char() -> str:
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in " \t\r\n":
                pos += 1
            if pos < len(buffer) or not more():
                return buffer[pos] if pos < len(buffer) else ""

    if next_char() != "[":
        raise JsonFault(phrase("reg.json.not_a_list", "a JSON export is a list of objects: "
                               "it must start with ["))
    pos += 1
    if next_char() == "]":
        pos += 1
    else:
        while True:
            next_char()
            try:
                item, end = decoder.raw_decode(buffer, pos)
            except RecursionError as exc:
                raise JsonFault(phrase("reg.json.too_deep", "lists or objects nested too "
                                       "deeply inside an item")) from exc
            except json.JSONDecodeError as exc:
                if eof or len(buffer) - pos > MAX_JSON_ITEM_CHARS:
                    raise JsonFault(phrase(
                        "reg.json.bad_item", f"malformed JSON or an item over "
                        f"{MAX_JSON_ITEM_CHARS} characters: {exc.msg}",
                        max=MAX_JSON_ITEM_CHARS, why=exc.msg)) from exc
                more()
                continue
            pos = end
            yield item
            separator = next_char()
            pos += 1
            if separator == "]":
                break
            if separator != ",":
                raise JsonFault(phrase("reg.json.separator", "expected , or ] after an item"))
    if next_char() != "":
        raise JsonFault(phrase("reg.json.trailing", "text after the end of the list"))


def json_rows(handle: TextIO, stats: SourceStats, problems: ProblemList,
              encoding: str) -> Iterator[RawRow]:
    number = 0
    try:
        for number, item in enumerate(_json_values(handle), start=1):
            stats.rows += 1
            if past_rows(stats, number, problems):
                return
            if not isinstance(item, _Pairs):
                problems.add(number, None, "not-an-object", phrase(
                    "reg.json.not_an_object", "each item must be a JSON object"))
                continue
            bad = [key for key, value in item if value is not None and not isinstance(value, str)]
            if bad:
                problems.add(number, bad[0], "bad-value", phrase(
                    "reg.json.bad_value", "a value must be text, a number or null (not "
                    "true/false, a list or an object)"))
                continue
            yield RawRow(number, number, tuple(key for key, _ in item),
                         [value for _, value in item])
    except ValueError as exc:
        if isinstance(exc, UnicodeError):
            decode_failure(problems, number + 1, encoding, exc, handle)
        else:
            said = exc.said if isinstance(exc, JsonFault) else phrase(
                "reg.json.malformed", str(exc), why=str(exc))
            # the item being read when it failed; none when the file is no list at all
            whole = said.key == "reg.json.not_a_list"
            problems.add(None if whole else number + 1, None, "malformed", said)

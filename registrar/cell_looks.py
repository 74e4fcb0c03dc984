"""Whether Excel shows a workbook cell's value as it is stored, which is what is issued.

A registrar checks the sheet in Excel; a cell whose looks hide or replace its value
would put on the chain a value nobody saw. Refused (`Look.problem`):
- a number format whose section for the value shows nothing (";;;", an empty section),
  shows only its own text ('"3.90"', '"Отлично"', a text section without "@"; a zero
  under a section of no "0" place: "-" in an accounting format, "." of "#.##"), or adds
  digits to it ('0"5"', a fraction's fixed denominator "# ?/8"), or letters before or
  inside its digits ('"S"00000', "[$S-409]0"), or shows it in thousands ("0," scales by
  1,000). A unit after the number ('0.00 "балл"', '#,##0"тг."', "# ##0 [$KZT]") is shown
  beside the value, which is accepted. A date may carry words ('d mmmm yyyy "г."'),
  never digits ('dd.mm."2026"'). A format with conditions ("[<3]") is judged by every
  section it holds for numbers: which one Excel picks is not worth guessing. Plain
  formats ("0.00", "General", "dd.mm.yyyy", "0%", "#,##0") are left as they are read
  (registrar.cell_shown);
- text that cannot be seen: of the fill's colour or close to it, by the font's colour
  or its section's ("[White]0.00", "[Color2]"), or too small (registrar.cell_colours);
- a number shown with fewer decimals than it holds, plain formats' too (3.4566 under
  "0.00" shown 3.46: registrar.cell_rounding), by the one section Excel shows it by:
  under conditions, the first whose condition it meets, a section of none taking the
  rest ("[>=3]0.00;0.0" shows 3.45 by "0.00"); a shape whose section is not certain
  ("[<1]0;[>5]0.0", a value meeting neither) is not judged, as a refusal must be sure.
Both are judged once for each of the workbook's cell styles, the format's section then
chosen for each value. Conditional formatting, and a colour or format Excel would apply
by it, are not looked at: such a cell is read as its own style shows it.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from openpyxl.utils.datetime import to_excel

from registrar.cell_colours import (
    Theme,
    background,
    font_colour,
    format_colour,
    tiny,
    unseen_on,
)
from registrar.cell_rounding import ELAPSED, Places, places, rounded_phrase
from registrar.cell_shown import cell_text
from registrar.far_values import ReadCell
from registrar.phrases import Phrase, phrase
from registrar.value_characters import shown

# What a sentence quotes of a value or a format, and the distinct styles and formats
# kept judged: a workbook of Excel's holds at most 64,000 styles; past them a style's
# font and fill are judged for each cell again (its format, if kept, is not parsed).
QUOTED_CHARS = 60
MAX_STYLES_KEPT = 64_000

# A format's pieces: quoted text, an escaped character, a bracket ([Red], [<3], [$S-409],
# [h]), a spacer ("_)", no character shown), a fill ("*-", its character repeated), and
# the codes that are words: General, AM/PM, A/P, E+ and E- (scientific).
_PIECE = re.compile(r'"[^"]*"?|\\.|\[[^\]]*\]?|_.|\*.|(?i:general|am/pm|a/p|e[+-])|.',
                    re.DOTALL)
_CONDITION = re.compile(r"\[(<=|>=|<>|<|>|=)\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\]")
_PLACES = frozenset("0#?")
_CLEAR = "clear the cell's number format (set it to General)"
_DATE_CODES = frozenset("ymdhsYMDHS")


@dataclass(frozen=True)
class Section:
    """One of a format's sections, as far as it shows a value."""

    number: bool  # shows a number (a digit place, General, a date's code)
    text: bool  # shows text ("@")
    literal: str  # the characters it shows of its own
    scales: bool  # a comma after its last digit place: the number shown in thousands
    conditional: bool
    lead: str = ""  # of `literal`, those before its last digit place
    zero: bool = True  # shows a zero's digit: a "0" place, General (not "#", "?")
    colour: str | None = None  # its text's, as "RRGGBB" ("[White]", "[Color2]")
    places: Places | None = None  # the digits it shows of a number (None: not judged)
    condition: tuple[str, float] | None = None  # its "[>=3]": (">=", 3.0)


def _section(pieces: list[str]) -> Section:
    number = text = scales = conditional = zero = False
    literal: list[tuple[int, str]] = []
    last_place = -1
    colour: str | None = None
    condition: tuple[str, float] | None = None
    for index, piece in enumerate(pieces):
        first = piece[0]
        if piece.lower() == "general" or (len(piece) == 1 and (
                first in _PLACES or first in _DATE_CODES)) or piece.lower() in (
                "am/pm", "a/p"):
            number = True
            last_place = index if first in _PLACES or piece.lower() == "general" \
                else last_place
            zero = zero or first not in "#?"
        elif piece in ("E+", "E-", "e+", "e-"):
            number = True
        elif first == "@":
            text = True
        elif first == '"':
            literal.append((index, piece[1:-1] if piece.endswith('"') and len(piece) > 1
                            else piece[1:]))
        elif first == "\\" or first == "*":
            literal.append((index, piece[1:]))
        elif first == "[":
            inner = piece[1:-1]
            met = _CONDITION.fullmatch(piece)
            if met is not None:
                conditional = True
                condition = condition or (met.group(1), float(met.group(2)))
            if inner[:1] == "$":  # a currency's symbol, shown: "[$₸-43F]", "[$S-409]"
                literal.append((index, inner[1:].split("-", 1)[0]))
            elif ELAPSED.fullmatch(piece):  # elapsed time: [h], [mm], [ss]
                number = True
            else:
                colour = format_colour(inner) or colour
        elif first != "_":
            literal.append((index, piece))
    scales = last_place >= 0 and last_place + 1 < len(pieces) and \
        pieces[last_place + 1] == ","
    return Section(number, text, "".join(t for _, t in literal), scales, conditional,
                   "".join(t for i, t in literal if i < last_place or last_place < 0),
                   zero, colour, places(pieces), condition)


def sections(number_format: str) -> list[Section]:
    """The format's sections; ";" inside quotes or brackets splits none."""
    found: list[Section] = []
    pieces: list[str] = []
    for piece in _PIECE.findall(number_format):
        if piece == ";":
            found.append(_section(pieces))
            pieces = []
        else:
            pieces.append(piece)
    found.append(_section(pieces))
    return found


def _plain(parts: list[Section]) -> bool:
    """A format that shows any number and any text as stored: one section showing a
    number, of no letters or digits of its own and no scaling."""
    return len(parts) == 1 and parts[0].number and not parts[0].conditional and \
        not parts[0].scales and parts[0].zero and parts[0].colour is None and \
        not any(c.isalnum() for c in parts[0].literal)


def _for_number(parts: list[Section], value: float) -> list[Section]:
    """The sections Excel may show `value` by: one, by its sign, unless the format has
    conditions (then each of its number sections)."""
    numbers = parts[:3]
    if any(part.conditional for part in numbers):
        return numbers
    if len(numbers) == 1 or (len(numbers) == 2 and value >= 0):
        return numbers[:1]
    return [numbers[0 if value > 0 else 1 if value < 0 else 2]]


def _meets(value: float, condition: tuple[str, float]) -> bool:
    op, bound = condition
    return {"<": value < bound, "<=": value <= bound, ">": value > bound,
            ">=": value >= bound, "=": value == bound, "<>": value != bound}[op]


def _showing(parts: list[Section], value: float) -> Section | None:
    """The one section Excel shows the number `value` by; None when not certain (a
    value meeting no condition, a condition past the first two, a section of none
    before one of some)."""
    numbers = parts[:3]
    if not any(part.conditional for part in numbers):
        return _for_number(parts, value)[0]
    first, rest = numbers[0].condition, numbers[1:]
    if first is None or (rest and rest[0].conditional and rest[0].condition is None):
        return None
    if _meets(value, first):
        return numbers[0]
    if not rest:
        return None
    second = rest[0].condition
    if second is None:  # takes every number the first did not, with no third of its own
        return rest[0] if len(rest) == 1 else None
    if _meets(value, second):
        return rest[0]
    if len(rest) == 2 and not rest[1].conditional:
        return rest[1]
    return None


def _text_section(parts: list[Section]) -> Section | None:
    """The section Excel shows text by: the fourth, else one holding "@"; with neither,
    text is shown as it is."""
    if len(parts) >= 4:
        return parts[3]
    return next((part for part in parts if part.text), None)


def _quoted(text: str) -> str:
    text = shown(text)
    return text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS - 1] + "…"


def _fault(part: Section, value: object, a_date: bool) -> tuple[str, str] | None:
    """How `part` shows `value` otherwise than stored, and what of its own it shows
    then: "hidden", "text" (its own text instead), "adds" (digits, or letters before or
    inside the number's), "scales"."""
    as_text = isinstance(value, str)
    shows = part.text if as_text else part.number or part.text  # "@": a number as it is
    if shows and value == 0 and not (as_text or a_date or part.zero or part.text):
        shows = False  # "#", "?": no digit of a zero is shown
    own = part.literal.strip()
    if not shows:
        return ("text", own) if own else ("hidden", "")
    added = "".join(c for c in part.literal if c.isdigit()) + "".join(
        c for c in part.lead if c.isalpha() and not a_date)
    if added:
        return "adds", added
    if part.scales and not as_text:
        return "scales", ""
    return None


def _said(fault: tuple[str, str], value: str, number_format: str) -> Phrase:
    fmt, (kind, own) = _quoted(number_format), fault
    if kind == "hidden":
        return phrase("reg.sheet.hidden_value", f"Excel shows nothing in the cell: its "
                      f"number format {fmt} hides the value stored, {value}, which would be "
                      f"issued unseen: {_CLEAR}, or the value", format=fmt, value=value)
    if kind == "text":
        return phrase("reg.sheet.format_text", f"Excel shows '{_quoted(own)}' in the cell, "
                      f"the text of its number format {fmt}, not the value stored, {value}, "
                      f"which would be issued: {_CLEAR}", format=fmt, value=value,
                      shows=_quoted(own))
    if kind == "adds":
        return phrase("reg.sheet.format_adds", f"the cell's number format {fmt} adds "
                      f"'{_quoted(own)}' to what Excel shows, so it shows other than the "
                      f"value stored, {value}, which would be issued: {_CLEAR}", format=fmt,
                      value=value, added=_quoted(own))
    return phrase("reg.sheet.format_scales", f"the cell's number format {fmt} shows the "
                  f"number in thousands (the comma after its digits), not the value "
                  f"stored, {value}, which would be issued: {_CLEAR}", format=fmt,
                  value=value)


def _chosen(parts: list[Section], value: object) -> list[Section]:
    """The sections Excel may show `value` by (none: text shown as it is)."""
    if isinstance(value, str):
        part = _text_section(parts)
        return [] if part is None else [part]
    if isinstance(value, datetime.date | datetime.time):  # by its day number's sign
        return _for_number(parts, float(to_excel(value) or 0))
    if isinstance(value, int | float):
        return _for_number(parts, float(value))
    return []


def _problem(chosen: list[Section], value: object, number_format: str) -> Phrase | None:
    a_date = isinstance(value, datetime.date | datetime.time)
    for part in chosen:
        fault = _fault(part, value, a_date)
        if fault is not None:
            return _said(fault, _quoted(cell_text(value, number_format) or ""), number_format)
    return None


@dataclass(frozen=True)
class Look:
    """A cell style's number format and what it and the style's font show."""

    number_format: str
    parts: list[Section] | None  # None: a plain format
    background: str | None  # the colour text is read against (None: any text is seen)
    unseen: bool  # the font's colour is lost on the fill
    tiny: float | None  # the font's size, when too small to be read
    every: list[Section]  # the format's sections, a plain format's too

    def problem(self, value: object) -> Phrase | None:
        """Why Excel shows a cell of this style holding `value` otherwise than `value`."""
        if value is None or value.__class__ is bool or value == "":
            return None
        chosen = [] if self.parts is None else _chosen(self.parts, value)
        problem = _problem(chosen, value, self.number_format)
        if problem is not None or (isinstance(value, str) and not value.strip()):
            return problem
        # a section's own colour is its text's, in place of the font's; a format of one
        # section paints text too, taken so where Excel may
        painted = chosen or (self.parts[:1] if self.parts and len(self.parts) == 1 else [])
        colours = [part.colour for part in painted if part.colour is not None]
        unseen = (self.unseen and len(colours) < max(len(painted), 1)) or any(
            unseen_on(colour, self.background) for colour in colours)
        if not unseen and self.tiny is None:
            return self._rounded(value)
        said = _quoted(cell_text(value, self.number_format) or "")
        if not unseen:
            size = f"{self.tiny:g}"
            return phrase("reg.sheet.font_tiny", f"the cell's text is {size} pt, too small "
                          f"to be read, so Excel shows nothing legible of the value stored, "
                          f"{said}, which would be issued unseen: remove the cell's "
                          "formatting", size=size, value=said)
        return phrase("reg.sheet.font_hides", f"the cell's text is the colour of its fill, "
                      f"or too close to it to be seen, so Excel shows nothing of the value "
                      f"stored, {said}, which would be issued unseen: remove the cell's "
                      "formatting", value=said)

    def _rounded(self, value: object) -> Phrase | None:
        """Why a number shows fewer of its decimals than it holds (cell_rounding), by
        the section Excel shows it by (none certain: not judged); once seen, not
        hidden."""
        if value.__class__ is bool or not isinstance(value, int | float):
            return None
        part = _showing(self.every, value)
        if part is None:
            return None
        # Excel puts a minus before a negative number only under a format of one section
        return rounded_phrase(part.places, value,
                              _quoted(cell_text(value, self.number_format) or ""),
                              minus_shown=len(self.every) == 1)


class CellLooks:
    """Judges each cell's looks once for each of the workbook's styles (openpyxl keeps a
    style array for each: its identity is the style's)."""

    def __init__(self, theme: Theme | None = None) -> None:
        self._theme = theme  # the workbook's theme colours (cell_colours.theme_colours)
        self._looks: dict[int, Look] = {}
        # each format's sections, by its text: past MAX_STYLES_KEPT styles (no workbook
        # of Excel's), a style sharing a long format is not parsed again for each cell
        self._parsed: dict[str, list[Section]] = {}

    def look(self, cell: ReadCell) -> Look:
        """The look of `cell`, a cell holding a value (EMPTY_CELL has no style).
        ValueError for a style, font, fill or number format the workbook does not hold
        (openpyxl's IndexError, said of no cell, as it looks it up)."""
        try:
            key = id(cell.style_array)  # kept by the workbook while it is open
            look = self._looks.get(key)
            if look is not None:
                return look
            number_format = cell.number_format or "General"
            found = self._parsed.get(number_format)
            if found is None:
                found = sections(number_format)
                if len(self._parsed) < MAX_STYLES_KEPT:
                    self._parsed[number_format] = found
            fill = background(cell.fill, self._theme)
            look = Look(number_format, None if _plain(found) else found, fill,
                        unseen_on(font_colour(cell.font, self._theme), fill),
                        tiny(cell.font), found)
        except IndexError as exc:
            raise ValueError("a cell names a style the workbook does not hold") from exc
        if len(self._looks) < MAX_STYLES_KEPT:
            self._looks[key] = look
        return look

"""Whether Excel shows a workbook cell's value as it is stored, which is what is issued.

A registrar checks the sheet in Excel; a cell whose looks hide or replace its value
would put on the chain a value nobody saw. Refused (`Look.problem`):
- a number format whose section for the value shows nothing (";;;", an empty section),
  shows only its own text ('"3.90"', '"Отлично"', a text section without "@"), or adds
  digits or letters to it ('"S"00000', '0"5"', "[$S-409]0", a fraction's fixed
  denominator "# ?/8"), or shows it in thousands ("0," scales by 1,000). A date may
  carry words ('d mmmm yyyy "г."'), never digits ('dd.mm."2026"'). A format with
  conditions ("[<3]") is judged by every section it holds for numbers: which one Excel
  picks is not worth guessing. Plain formats ("0.00", "General", "dd.mm.yyyy", "0%",
  "#,##0", colours) are left as they are read (registrar.cell_shown);
- a font of the colour of the cell's fill: white text on no fill or a white one, or any
  text on a fill of its own colour (theme colours compared as written, with their tint).
Both are judged once for each of the workbook's cell styles, the format's section then
chosen for each value. Conditional formatting, a colour Excel would apply by it, and a
colour close to the fill's but not equal to it are not looked at.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from openpyxl.styles.colors import COLOR_INDEX, Color
from openpyxl.styles.fills import PatternFill
from openpyxl.utils.datetime import to_excel

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


def _section(pieces: list[str]) -> Section:
    number = text = scales = conditional = False
    literal: list[str] = []
    last_place = -1
    for index, piece in enumerate(pieces):
        first = piece[0]
        if piece.lower() == "general" or (len(piece) == 1 and (
                first in _PLACES or first in _DATE_CODES)) or piece.lower() in (
                "am/pm", "a/p"):
            number = True
            last_place = index if first in _PLACES or piece.lower() == "general" \
                else last_place
        elif piece in ("E+", "E-", "e+", "e-"):
            number = True
        elif first == "@":
            text = True
        elif first == '"':
            literal.append(piece[1:-1] if piece.endswith('"') and len(piece) > 1
                           else piece[1:])
        elif first == "\\" or first == "*":
            literal.append(piece[1:])
        elif first == "[":
            inner = piece[1:-1]
            conditional = conditional or _CONDITION.fullmatch(piece) is not None
            if inner[:1] == "$":  # a currency's symbol, shown: "[$₸-43F]", "[$S-409]"
                literal.append(inner[1:].split("-", 1)[0])
            elif inner.lower().strip("hms") == "":  # elapsed time: [h], [mm], [ss]
                number = True
        elif first != "_":
            literal.append(piece)
    scales = last_place >= 0 and last_place + 1 < len(pieces) and \
        pieces[last_place + 1] == ","
    return Section(number, text, "".join(literal), scales, conditional)


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
        not parts[0].scales and not any(c.isalnum() for c in parts[0].literal)


def _for_number(parts: list[Section], value: float) -> list[Section]:
    """The sections Excel may show `value` by: one, by its sign, unless the format has
    conditions (then each of its number sections)."""
    numbers = parts[:3]
    if any(part.conditional for part in numbers):
        return numbers
    if len(numbers) == 1 or (len(numbers) == 2 and value >= 0):
        return numbers[:1]
    return [numbers[0 if value > 0 else 1 if value < 0 else 2]]


def _text_section(parts: list[Section]) -> Section | None:
    """The section Excel shows text by: the fourth, else one holding "@"; with neither,
    text is shown as it is."""
    if len(parts) >= 4:
        return parts[3]
    return next((part for part in parts if part.text), None)


def _quoted(text: str) -> str:
    text = shown(text)
    return text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS - 1] + "…"


def _fault(part: Section, as_text: bool, a_date: bool) -> tuple[str, str] | None:
    """How `part` shows a value otherwise than stored, and what of its own it shows
    then: "hidden", "text" (its own text instead), "adds" (digits or letters), "scales"."""
    shows = part.text if as_text else part.number or part.text  # "@": a number as it is
    own = part.literal.strip()
    if not shows:
        return ("text", own) if own else ("hidden", "")
    added = "".join(c for c in part.literal if c.isdigit() or (c.isalpha() and not a_date))
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


def _problem(parts: list[Section], value: object, number_format: str) -> Phrase | None:
    a_date = isinstance(value, datetime.date | datetime.time)
    if isinstance(value, str):
        part = _text_section(parts)
        chosen = [] if part is None else [part]
    elif isinstance(value, datetime.date | datetime.time):  # by its day number's sign
        chosen = _for_number(parts, float(to_excel(value) or 0))
    elif isinstance(value, int | float):
        chosen = _for_number(parts, float(value))
    else:
        return None
    for part in chosen:
        fault = _fault(part, isinstance(value, str), a_date)
        if fault is not None:
            return _said(fault, _quoted(cell_text(value, number_format) or ""), number_format)
    return None


def _colour(color: Color | None, automatic: str) -> str | None:
    """A colour as "RRGGBB", or a theme's as written (its index and tint); None when it
    cannot be told."""
    if color is None or color.type == "auto":
        return automatic
    if color.type == "rgb" and isinstance(color.rgb, str):
        return color.rgb[-6:].upper()
    if color.type == "indexed" and isinstance(color.indexed, int):
        if 0 <= color.indexed < len(COLOR_INDEX):
            return str(COLOR_INDEX[color.indexed])[-6:].upper()
        system: dict[int, str] = {64: "000000", 65: "FFFFFF"}  # system text, background
        return system.get(color.indexed)
    if color.type == "theme" and isinstance(color.theme, int):
        tint = float(color.tint or 0)
        if tint == 0 and color.theme in (0, 1):  # Background 1 and Text 1, as Excel has them
            return ("FFFFFF", "000000")[color.theme]
        return f"theme {color.theme}, tint {tint}"
    return None


def font_hides(font: object, fill: object) -> str | None:
    """The colour a cell's text shares with its fill, hiding it; None when it does not
    (an automatic font is black, no fill is the white sheet; a patterned fill, mixing
    two colours, and a gradient are taken to show the text)."""
    text = _colour(getattr(font, "color", None), "000000")
    if not isinstance(fill, PatternFill) or fill.patternType in (None, "none"):
        background: str | None = "FFFFFF"
    elif fill.patternType == "solid":
        background = _colour(fill.fgColor, "FFFFFF")
    else:
        return None
    return text if text is not None and text == background else None


@dataclass(frozen=True)
class Look:
    """A cell style's number format and what it and the style's font show."""

    number_format: str
    parts: list[Section] | None  # None: a plain format
    hidden_by: str | None  # the colour text and fill share

    def problem(self, value: object) -> Phrase | None:
        """Why Excel shows a cell of this style holding `value` otherwise than `value`."""
        if value is None or value.__class__ is bool or value == "":
            return None
        if self.parts is not None:
            problem = _problem(self.parts, value, self.number_format)
            if problem is not None:
                return problem
        if self.hidden_by is None or (isinstance(value, str) and not value.strip()):
            return None
        said = _quoted(cell_text(value, self.number_format) or "")
        return phrase("reg.sheet.font_hides", f"the cell's text is the colour of its fill, "
                      f"so Excel shows nothing of the value stored, {said}, which would be "
                      "issued unseen: remove the cell's formatting", value=said)


class CellLooks:
    """Judges each cell's looks once for each of the workbook's styles (openpyxl keeps a
    style array for each: its identity is the style's)."""

    def __init__(self) -> None:
        self._looks: dict[int, Look] = {}
        # each format's sections, by its text: past MAX_STYLES_KEPT styles (no workbook
        # of Excel's), a style sharing a long format is not parsed again for each cell
        self._parsed: dict[str, list[Section] | None] = {}

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
            if number_format in self._parsed:
                parts: list[Section] | None = self._parsed[number_format]
            else:
                found = sections(number_format)
                parts = None if _plain(found) else found
                if len(self._parsed) < MAX_STYLES_KEPT:
                    self._parsed[number_format] = parts
            look = Look(number_format, parts, font_hides(cell.font, cell.fill))
        except IndexError as exc:
            raise ValueError("a cell names a style the workbook does not hold") from exc
        if len(self._looks) < MAX_STYLES_KEPT:
            self._looks[key] = look
        return look

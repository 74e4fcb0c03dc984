"""What a spreadsheet leaves in a text export that is no value of a record.

A workbook marks a formula and an error as such (registrar.workbook reads them so), but
a CSV holds only text: Excel saves a failed formula's cell as its error's name in the
language it runs in ("#N/A", in Russian Excel "#Н/Д"), and a system that writes a CSV
for Excel to open keeps a code's leading zeros by writing it as a formula whose value is
the text itself (="010101500013"). Read as text, the first would be a programme called
"#N/A" on a diploma, and the second a student id with "=" and quotes around it, matching
no other record of that student.
"""

from __future__ import annotations

import re

from registrar.phrases import Phrase, phrase

# As a workbook stores them whatever language Excel runs in, and English Excel's CSV
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!"})
# As Russian-language Excel writes them into a CSV it saves
_RUSSIAN_EXCEL_ERRORS = frozenset({"#ПУСТО!", "#ДЕЛ/0!", "#ЗНАЧ!", "#ССЫЛКА!", "#ССЫЛ!",
                                   "#ИМЯ?", "#ЧИСЛО!", "#Н/Д", "#ПОЛУЧЕНИЕ_ДАННЫХ",
                                   "#ПЕРЕНОС!", "#ВЫЧИСЛ!"})
_ERROR_NAMES = EXCEL_ERRORS | _RUSSIAN_EXCEL_ERRORS
# ="…": the text inside, a "" in it standing for one "
_TEXT_FORMULA = re.compile(r'="((?:[^"]|"")*)"')


def excel_shown(cell: str | None) -> str | None:
    """The cell as Excel shows it: ="…" is the text inside; any other cell as it is."""
    if cell is None or not cell.startswith('="'):
        return cell
    found = _TEXT_FORMULA.fullmatch(cell)
    return found[1].replace('""', '"') if found else cell


def apostrophe_phrase(value: str, format_name: str) -> Phrase | None:
    """Unless `value` is text (a title may begin with a quote), why it has Excel's
    apostrophe, which makes a typed cell text and is no part of its value, but which a CSV
    copied out of the formula bar or written by a system for Excel keeps as a character."""
    text = value.strip()
    if format_name != "text" and text.startswith("'"):
        return phrase("reg.value.apostrophe", f"{text} begins with an apostrophe ('), "
                      "Excel's mark for a cell kept as text, which is no part of the value: "
                      "delete it", value=text)
    return None


def excel_error_name(value: str) -> bool:
    """Whether trimmed `value` is the name of an Excel error, in English or Russian Excel."""
    return value.strip().upper() in _ERROR_NAMES


def excel_error_phrase(error: str) -> Phrase:
    """An error's cell, whatever the source: a workbook marks it as one, and a CSV (which
    cannot say whether Excel wrote it or someone typed it) holds its name alone."""
    return phrase("reg.sheet.excel_error", f"the cell holds the Excel error {error}",
                  error=error)


def error_text_phrase(text: str) -> Phrase:
    """A workbook's text cell holding an error's name: typed (or pasted as text) by hand,
    not a failed formula, but no value of a document either, so said for what it is."""
    return phrase("reg.sheet.error_text", f"the cell holds the text {text}, which is how "
                  "Excel marks a missing or failed value, not a value of a document: clear "
                  "the cell if there is no value, or write the value", text=text)


def excel_mark_phrase(value: str, format_name: str = "text") -> Phrase | None:
    """Why `value`, a cell of a text export (CSV), is a spreadsheet's error or formula
    rather than a value, or has Excel's apostrophe (apostrophe_phrase); or None. Only for
    text: a workbook marks its formulas and errors itself (registrar.workbook), and a
    workbook's or a JSON export's text beginning with "=" ("=Tech: E=mc²") is a value."""
    text = value.strip()
    if excel_error_name(text):
        return excel_error_phrase(text)
    if text.startswith("="):
        return phrase("reg.value.formula", f"{text} is a formula, which a CSV keeps as "
                      "typed, not its result: in Excel copy the column and paste it back as "
                      "values (Paste Special, Values), save, and export again", value=text)
    return apostrophe_phrase(value, format_name)

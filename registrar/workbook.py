"""Excel .xlsx exports, read with openpyxl in read-only mode (values, not formulas).

Cells become text as Excel shows them (registrar.cell_shown).

The header may stand below title rows (registrar.rows.find_header). A hidden row
holding values is a problem: rows a registrar filtered out (or hid) are still in the
file, and every row would be issued; a hidden column holding values is one too, issued
unseen. So are cells merged with a cell before them (a programme merged down its
group's rows: only the first row holds it) and a formula whose result was never saved
(files written by programs rather than Excel): such cells read empty. A cell Excel
shows otherwise than its value (a number format or font hiding or replacing it:
registrar.cell_looks; TRUE or FALSE; any formula in an issued column, whose saved
result Excel may compute otherwise) is refused, never issued as stored.
What a workbook may cost, and the order of rows and cells Excel keeps, are held to
before and while openpyxl reads it: registrar.sheet_xml, and registrar.sheet_sizes for
the sheets storing no size, which openpyxl reads whole as it opens the workbook. The
sheets' parts and shared strings are found in the package (registrar.sheet_parts), not
through read-only openpyxl's private attributes.
"""

from __future__ import annotations

import itertools
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from registrar.cell_colours import theme_colours
from registrar.cell_looks import CellLooks
from registrar.cell_shown import cell_text, number_text
from registrar.cover_page import (
    LATER_SHEETS_LOOKED,
    ROWS_JUDGED_WHOLE,
    PeopleRows,
    later_sheet_holds_people,
)
from registrar.excel_marks import error_text_phrase, excel_error_name, excel_error_phrase
from registrar.far_values import FarValues, ReadCell, RowsOfCells, far_values, rows_below
from registrar.header_merges import HeaderMerges
from registrar.header_rows import MAX_HEADER_SEARCH_ROWS, HeaderRefusal, two_row_header
from registrar.later_sheets import as_text, first_rows, shared_indices
from registrar.merge_sweep import merged_stray
from registrar.phrases import Phrase, phrase
from registrar.problems import ProblemList
from registrar.rows import (
    MAX_HEADER_COLUMNS,
    HeaderSink,
    Numbered,
    RawRow,
    SourceStats,
    find_header,
    too_wide,
)
from registrar.sheet_header import SheetForm
from registrar.sheet_parts import SheetPart, WorkbookParts, shared_strings_at, workbook_parts
from registrar.sheet_sizes import check_sheet_sizes
from registrar.sheet_xml import DAMAGED_PART, SheetLimit, check_parts, sheet_marks
from registrar.sniff import not_a_workbook, strict_open_xml


def _later_rows(path: Path, listed: WorkbookParts) -> Iterator[list[list[str]]]:
    """The first LATER_ROWS_LOOKED rows of each of the first LATER_SHEETS_LOOKED visible
    later sheets, as text: what is looked at for the list a cover page stands before. Each
    is read with a bound of its own (registrar.later_sheets), not by openpyxl, which builds
    a row however wide and reads rows however many; a sheet past it, or damaged, is no
    list. The shared strings their cells name are then read in one pass, keeping only
    those."""
    visible = [sheet for sheet in listed.sheets[1:] if sheet.state == "visible"]
    with zipfile.ZipFile(path) as archive:
        sheets = []
        for sheet in visible[:LATER_SHEETS_LOOKED]:
            with archive.open(sheet.part) as source:
                sheets.append(first_rows(source, number_text))
        strings = shared_strings_at(archive, listed.shared_strings, shared_indices(sheets))
    for rows in sheets:
        yield as_text(rows, strings)


def _listed_sheets(path: Path) -> WorkbookParts:
    """The workbook's sheets as its package lists them, once the sheets storing no size
    are found within the limits (registrar.sheet_sizes): openpyxl reads those whole as
    it opens the workbook. None listed for a file that is no zip: openpyxl's refusal
    says what it is."""
    try:
        with zipfile.ZipFile(path) as archive:
            listed = workbook_parts(archive)
            check_sheet_sizes(archive, listed.sheets)
            return listed
    except zipfile.BadZipFile:
        return WorkbookParts([], None)


def _same_sheets(listed: list[SheetPart], opened: list[str]) -> bool:
    """Whether openpyxl found the worksheets the package lists (`opened`: their titles),
    in the same order: the parts read here are then the sheets it reads."""
    return [sheet.title for sheet in listed] == opened


class _MissingSharedString(Exception):
    """openpyxl looked a t="s" cell's index up in the shared strings, and the workbook
    holds none there: it raises IndexError as it builds the row, and does not say which."""


class _StringsChecked:
    """A read-only openpyxl worksheet whose rows raise _MissingSharedString for the
    IndexError openpyxl raises building them, and only for that: one of this module's
    own, as it reads what they hold, is a bug to surface, not a damaged workbook."""

    def __init__(self, sheet: RowsOfCells) -> None:
        self._sheet = sheet

    def iter_rows(self, *, min_row: int = 1, max_col: int | None = None
                  ) -> Iterator[tuple[ReadCell, ...]]:
        rows = self._sheet.iter_rows(min_row=min_row, max_col=max_col)
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except IndexError as exc:
                raise _MissingSharedString from exc
            yield cells


_BOOLEAN = phrase("reg.sheet.boolean", "the cell holds TRUE or FALSE, which Excel shows in "
                  "its own language (ИСТИНА, ЛОЖЬ): write the words the document should show")
# Only values are issued: a formula's saved result is what the program saving it last
# computed, and Excel may compute another as it opens or shows the file (=TODAY(), a
# newer engine, a cell it depends on elsewhere), whatever the workbook says of it
_FORMULA = phrase("reg.sheet.formula_issued", "the cell holds a formula, and its saved "
                  "result may not be what Excel shows (a formula using TODAY(), for one, "
                  "changes each day), while only values are issued: copy the column and "
                  "paste it as values (Paste Special → Values), then save the file")


def xlsx_rows(path: Path, stats: SourceStats, problems: ProblemList,
              on_header: HeaderSink | None = None, people: PeopleRows | None = None,
              max_columns: int = MAX_HEADER_COLUMNS) -> Iterator[RawRow]:
    """The first sheet's rows under its header, which may span `max_columns` (each row
    below is filled to its width: rows.header_columns). `people` is given each row, one
    of a problem here too (a wider row than the header, below a title taken for it, is
    one)."""
    # What openpyxl says it leaves out as it reads (defined names it cannot place, data
    # validation, a missing default style) is about formatting, never a value; said as a
    # Python warning it reached the registrar's terminal in English, with a path into
    # site-packages, amid the output in their language. Set as it reads, not as this
    # module is imported: the filter must hold while this generator is suspended, which
    # a catch_warnings block around its yields would not do safely.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl\.")
    try:
        check_parts(path)
        listed = _listed_sheets(path)
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except SheetLimit as exc:
        problems.add(None, None, exc.code, exc.said)
        return
    except (SyntaxError, *DAMAGED_PART) as exc:  # malformed XML or a damaged part, read
        # when the workbook opens
        problems.add(None, None, "malformed", phrase(
            "reg.file.damaged_here", f"the workbook is damaged here: {exc}", why=str(exc)))
        return
    # openpyxl meets a hostile or damaged part with whatever its descriptors raise
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError,
            TypeError, AttributeError, IndexError) as exc:
        plainly = not_a_workbook(path)
        # openpyxl's own words (a descriptor's TypeError, a missing part's KeyError) are
        # English only: kk and ru say reg.file.unreadable_workbook without them
        problems.add(None, None, "malformed", phrase(
            "reg.file.not_a_workbook", f"not a readable .xlsx workbook: {plainly}",
            why=plainly) if plainly else phrase(
            "reg.file.unreadable_workbook", f"not a readable .xlsx workbook: {exc}",
            why=str(exc)))
        return
    number: int | None = None  # until the rows are read, a problem is the sheet's
    try:
        strict = strict_open_xml(path)  # openpyxl reads no sheet of it, or no cell
        if strict is not None:
            problems.add(None, None, "malformed", strict)
            return
        if not workbook.worksheets:
            problems.add(None, None, "no-header", phrase(
                "reg.sheet.none", "the workbook holds no worksheet (only a chart sheet, or a "
                "damaged file): export it again"))
            return
        if not _same_sheets(listed.sheets, [str(ws.title) for ws in workbook.worksheets]):
            problems.add(None, None, "malformed", phrase(
                "reg.xlsx.sheets_disagree", "the workbook lists its sheets in two ways that "
                "disagree, which Excel never writes: the file was made or altered by "
                "another program; open it in Excel and save it again"))
            return
        sheet = workbook.worksheets[0]
        stats.sheet, stats.sheets = str(sheet.title), len(workbook.worksheets)
        stats.visible_sheets = sum(ws.sheet_state == "visible" for ws in workbook.worksheets)
        if sheet.sheet_state != "visible":
            # Only the first sheet is read: one its registrar never sees would be issued.
            problems.add(None, None, "hidden-sheet", phrase(
                "reg.sheet.hidden", f"the first sheet, {sheet.title!r}, is hidden in Excel, "
                "and only the first sheet is read: delete it, or move the sheet to issue from "
                "to the front", sheet=str(sheet.title)))
            return
        first = listed.sheets[0].part
        with zipfile.ZipFile(path) as archive, archive.open(first) as source:
            # read-only openpyxl keeps no marks
            marks = sheet_marks(source, first, max_columns)
        # The stored size is dropped: one claiming more than the sheet holds
        # (A1:XFD1048576) has openpyxl build every row that wide and empty rows to its
        # last. Without it, rows are as long as their last cell, and padded below;
        # nothing more is read (openpyxl read the size as it opened the workbook,
        # whole where none is stored: registrar.sheet_sizes).
        sheet.reset_dimensions()
        # a row's cells Excel shows otherwise than they hold (registrar.cell_looks), in
        # the columns a header may span: each is noted, so that cells a mapping reads past
        # hide none after them
        unseen: dict[int, list[tuple[int, Phrase]]] = {}
        looks = CellLooks(theme_colours(getattr(workbook, "loaded_theme", None)))
        # a row's cells Excel marks as errors: a text cell may hold an error's name too
        # (typed, or pasted as text), which is said for what it is (excel_marks)
        failed: dict[int, set[int]] = {}

        def texts(number: int, cells: tuple[ReadCell, ...]) -> list[str | None]:
            said: list[str | None] = []
            for index, cell in enumerate(cells):
                value = cell.value
                if cell.data_type == "e":
                    failed.setdefault(number, set()).add(index)
                if value is None:
                    said.append(None)
                    continue
                look = looks.look(cell)  # its number format, judged once for its style
                if index < max_columns and (
                        odd := _BOOLEAN if value.__class__ is bool else look.problem(value)):
                    unseen.setdefault(number, []).append((index, odd))
                said.append(cell_text(value, look.number_format))
            return said

        recent: dict[int, list[str | None]] = {}  # the rows a header may stand in
        last_read = [0]  # the rows read as wide as they are: the header's, those above it

        def kept(number: int, cells: list[str | None]) -> Numbered:
            if number <= MAX_HEADER_SEARCH_ROWS:
                recent[number] = cells
            last_read[0] = number
            return number, cells

        rows = (kept(n, texts(n, cells)) for n, cells in enumerate(
            _StringsChecked(sheet).iter_rows(), start=1))
        found, ahead = find_header(rows, stats, on_header)
        header_row, header_cells = found if found is not None else (1, [])
        joined: frozenset[str] = frozenset()
        if found is not None and marks.top:
            split, ahead = two_row_header(found, ahead, rows, recent.get(header_row - 1),
                                          stats, on_header, SheetForm(marks.top))
            if isinstance(split, HeaderRefusal):
                problems.add(split.row, split.column, "merged-header", split.said)
                return
            if split is not None:
                header_row, header_cells, joined = split.bottom, split.names, split.tied_by
        while header_cells and (header_cells[-1] is None or not header_cells[-1].strip()):
            header_cells.pop()  # a sheet's used range often runs past the last header
        if not header_cells:
            english = f"the first sheet, {stats.sheet!r}, has no header row"
            problems.add(1, None, "no-header", phrase(
                "reg.sheet.no_header_others", f"{english}: only the first of the workbook's "
                f"{stats.sheets} sheets is read; delete this one, or move the sheet to issue "
                "from to the front", sheet=str(stats.sheet), sheets=stats.sheets)
                if stats.sheets > 1 else
                phrase("reg.sheet.no_header", english, sheet=str(stats.sheet)))
            return
        keys = tuple(c or "" for c in header_cells)
        width = len(keys)
        if width > max_columns:
            problems.add(header_row, get_column_letter(width), "too-large",
                         too_wide(width, max_columns))
            return
        merges = HeaderMerges(marks, header_row, width, joined)
        problem = merges.problem()
        if problem is not None:
            problems.add(header_row, keys[problem[0] - 1] or get_column_letter(problem[0]),
                         "merged-header", problem[1])
            return
        if on_header is not None:
            on_header.header(keys, header_row)
        if people is not None:
            people.header(keys)
        # columns the mapping reads past (row numbers): what they hold is never a problem
        skipped = {i for i, key in enumerate(keys) if on_header is not None
                   and on_header.ignores(key)}
        # a hidden column is read like any other: named at its first value, as its row is
        hidden = [i for i in range(width) if i not in skipped and marks.column_hidden(i)]
        iin = [name == "iin" for name in on_header.column_formats(keys)] \
            if on_header is not None else []
        # The rows below are read no wider than the header (registrar.far_values), but
        # for a cover page's first ones, which PeopleRows judges by all they hold
        widest = marks.widest_below(last_read[0])
        whole = ROWS_JUDGED_WHOLE if widest > width and people is not None and (
            on_header is None or on_header.header_knows_no_column()) else 0
        far = far_values(path, first, listed.shared_strings, width, last_read[0]) \
            if widest > width else FarValues()
        rows = (kept(n, texts(n, cells) if cells else []) for n, cells in rows_below(
            _StringsChecked(sheet), last_read[0], min(width, widest), whole))
        for number, cells in itertools.chain(ahead, rows):
            far_column = far.first(number)
            if far_column is None and all(c is None or not c.strip() for c in cells):
                continue
            stats.rows += 1
            if people is not None:
                people.row(cells)
            beyond = [i for i, c in enumerate(cells[width:], start=width)
                      if c is not None and c.strip()] or (
                [] if far_column is None else [far_column])
            marked = failed.pop(number, set())
            errors = [i for i, c in enumerate(cells[:width]) if i not in skipped and (
                i in marked or (c is not None and excel_error_name(c)))]
            unsaved = min((i for i in marks.unsaved.get(number, ()) if i not in skipped),
                          default=width)
            merged, merged_range = marks.merged(number, skipped) or (width, "")
            odd, odd_said = next(((i, said) for i, said in unseen.pop(number, ())
                                  if i not in skipped and i < width), (width, _BOOLEAN))
            formula = min((i for i in marks.formulas.get(number, ()) if i not in skipped),
                          default=width)
            header_part = merges.below(number, beyond[0] if beyond else None)
            if header_part is not None:
                column, message = header_part
                problems.add(number if column is None else header_row,
                             None if column is None else keys[column - 1], "merged-header",
                             message)
                return
            for i in [i for i in hidden if i < len(cells) and (cells[i] or "").strip()]:
                problems.add(number, keys[i], "hidden-column", phrase(
                    "reg.sheet.hidden_column", "the column is hidden in Excel, and what it "
                    "holds would be issued too (this is its first value): delete it from the "
                    "export, or show it"))
                hidden.remove(i)
            if number in marks.hidden:
                problems.add(number, None, "hidden-row", phrase(
                    "reg.sheet.hidden_row", "the row is hidden in Excel (filtered out?) and "
                    "would be issued too: delete it from the export, or show it"))
            elif beyond:
                problems.add(number, get_column_letter(beyond[0] + 1), "long-row", phrase(
                    "reg.sheet.beyond_header", f"a value in a column with no header (the "
                    f"header is row {header_row})", row=header_row))
            elif errors:
                error = str(cells[errors[0]])
                problems.add(number, keys[errors[0]], "excel-error", excel_error_phrase(
                    error) if errors[0] in marked else error_text_phrase(error.strip()))
            elif odd < width:
                problems.add(number, keys[odd], "shown-otherwise", odd_said)
            elif merged < width and (stray := merged_stray(cells, merged_range, iin)):
                problems.add(number, None, "not-a-student", stray)
            elif merged < width:
                problems.add(number, keys[merged], "merged-cells", phrase(
                    "reg.sheet.merged_cells", f"the cell is inside the merged cells "
                    f"{merged_range}, whose value only their first cell holds: unmerge them "
                    "and fill in every cell", cells=merged_range))
            elif unsaved < width:
                problems.add(number, keys[unsaved], "formula-without-value", phrase(
                    "reg.sheet.formula", "the cell holds a formula whose result was never "
                    "saved (a program wrote the file, not Excel): open the file in Excel or "
                    "LibreOffice and save it again"))
            elif formula < width:
                problems.add(number, keys[formula], "formula-in-issued-column", _FORMULA)
            else:
                cells.extend([None] * (width - len(cells)))
                yield RawRow(number, header_row, keys, cells[:width])
        if people is not None and on_header is not None and stats.visible_sheets > 1 \
                and people.may_be_cover and on_header.header_knows_no_column():
            try:
                people.later_list = later_sheet_holds_people(
                    _later_rows(path, listed), on_header.known_columns)
            except (ValueError, KeyError, TypeError, SyntaxError, zipfile.BadZipFile,
                    *DAMAGED_PART):
                pass  # the sheet read is sound; a damaged later one holds no list to move
    except SheetLimit as exc:
        problems.add(number, None, exc.code, exc.said)
    except _MissingSharedString:  # raised building the row after `number`: which one,
        # openpyxl does not say
        why = "a cell names a shared string the workbook does not hold"
        problems.add(None, None, "malformed", phrase(
            "reg.file.damaged_here", f"the workbook is damaged here: {why}", why=why))
    except (ValueError, KeyError, TypeError, SyntaxError, zipfile.BadZipFile,
            *DAMAGED_PART) as exc:
        # a damaged sheet inside a sound zip: XML ParseError is a SyntaxError
        problems.add(number, None, "malformed", phrase(
            "reg.file.damaged_here", f"the workbook is damaged here: {exc}", why=str(exc)))
    finally:
        workbook.close()

"""Where a row and a cell of a sheet's XML stand, and which element holds a cell's value,
as openpyxl reads them: one rule for registrar.sheet_xml, which holds the sheet to
Excel's limits, and registrar.far_values, which finds the values past the header, so
that the two never place or value a cell apart."""

from __future__ import annotations

from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.utils.exceptions import CellCoordinatesException

EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384  # XFD


def row_number(previous: int, attributes: dict[str, str]) -> int:
    """The number of a <row> read after row `previous`: its r, or the next one. A
    ValueError if it is not one of Excel's rows, in order."""
    reference = attributes.get("r")
    row = previous + 1 if reference is None else whole(reference, "row number")
    if not previous < row <= EXCEL_ROWS:
        raise ValueError(f"row {row} after row {previous}: Excel saves rows 1 to "
                         f"{EXCEL_ROWS}, in order")
    return row


def cell_column(row: int, previous: int, attributes: dict[str, str]) -> int:
    """The column (from 1) of a <c> of row `row` read after its column `previous`: its
    r's, or the next one. A ValueError if it is not in that row, in order, A to XFD."""
    reference = attributes.get("r")
    column, in_row = (previous + 1, row) if reference is None else _position(reference)
    if in_row != row or not previous < column <= EXCEL_COLUMNS:
        raise ValueError(f"a cell at {reference or column!r} in row {row} after its "
                         f"column {previous}: Excel saves columns A to XFD of a row, in "
                         "order, inside it")
    return column


def holds_value(kind: str, local: str) -> bool:
    """Whether the element `local` (a <c>'s child, without its namespace) holds the
    value of a cell of type `kind`: openpyxl reads an inline string's <is> and never its
    <v>, and any other cell's <v> and never its <is>."""
    return local == ("is" if kind == "inlineStr" else "v")


def whole(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise ValueError(f"a {what} {text!r}, which is no whole number") from exc


def _position(reference: str) -> tuple[int, int]:
    try:
        letters, row = coordinate_from_string(reference)
        return int(column_index_from_string(letters)), int(row)
    except (CellCoordinatesException, ValueError) as exc:
        raise ValueError(f"a cell at {reference!r}, which is no cell position") from exc

"""The limits that keep the intake standing ("giới hạn tiếp nhận"): how large a file, an unpacked workbook, a
sheet or a CSV table may be before it is refused, and how many problems are listed.

Every file the size limit admits is read within these bounds, so it is accepted or refused in seconds and a
few hundred MB at most whatever it declares (a false <dimension>, a cell at XFD1048576, a zip bomb). The row
budgets follow the form: a sheet far larger than its form is refused with a message that says so.
"""

from __future__ import annotations

MAX_FILE_BYTES = 10 * 1024 * 1024  # documented in the README: larger files are refused, their content not kept

# -- an XLSX workbook (a zip of XML parts) ---------------------------------------------------------------
MAX_ZIP_MEMBERS = 1_000  # Excel writes 10-30 parts; a few hundred with images and charts
MAX_UNPACKED_BYTES = 128 * 1024 * 1024  # declared size of all parts together
MAX_PART_BYTES = 16 * 1024 * 1024  # one part the intake parses (a sheet, the shared strings, the styles)
MAX_RATIO = 200  # unpacked / packed size of one part over RATIO_FLOOR_BYTES: a zip bomb, not a spreadsheet
RATIO_FLOOR_BYTES = 1024 * 1024
MAX_XML_ELEMENTS = 1_000_000  # XML elements parsed in one workbook, all parts together (about a second)
MAX_SHARED_STRINGS = 200_000  # distinct texts a workbook may hold (a form has a few hundred)
MAX_MERGED = 1_000  # merged ranges in one sheet
MAX_STYLES = 65_000  # cell styles (Excel allows 64,000)
MAX_TEXT = 32_767  # characters in one cell (Excel's own limit)
MAX_CELL_PARTS = 10_000  # XML elements inside one cell or shared string (rich-text runs)

# -- rows and columns, from the form -------------------------------------------------------------------
HEADER_SEARCH_ROWS = 10  # a title line or two above the table header is tolerated
MIN_ROWS = 100  # a table may hold notes, sub-totals and blank-looking rows beyond its indicators
ROWS_PER_LINE = 4  # ... up to this many rows per line of the form
EXTRA_COLUMNS = 20  # columns read beyond the form's (data there is reported, not read)
META_ROWS = 50  # rows of the 'Thông tin' sheet

# -- a CSV file ---------------------------------------------------------------------------------------
CSV_EXTRA_LINES = 200  # metadata lines, blank lines
MAX_CSV_LINE = 100_000  # characters in one line
MAX_CSV_FIELDS = 64  # fields in one line

MAX_PROBLEMS = 50  # problems listed in full; the rest are counted ("và K lỗi khác / and K more")


def row_budget(lines: int) -> int:
    """Rows with data a sheet may hold for a form (or a plan) of `lines` indicators (or tasks)."""
    return HEADER_SEARCH_ROWS + max(MIN_ROWS, ROWS_PER_LINE * lines)


def csv_line_budget(lines: int) -> int:
    """Lines a CSV file may hold for a form of `lines` indicators."""
    return row_budget(lines) + CSV_EXTRA_LINES


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


def thousands_vi(n: int) -> str:
    """12345 -> '12.345' (Vietnamese grouping)."""
    return f"{n:,}".replace(",", ".")

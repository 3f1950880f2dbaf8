"""Spreadsheets the project writes, laid out for the people who work in them: text stays text (never a live
formula), numbers carry thousands separators and sensible decimals, dates are dates, columns fit their content,
the header row is frozen and filtered, and every sheet prints on A4 landscape, fit to width, with its header
rows repeated on each page and its totals in bold.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bhxh.reports.stable import FIXED, normalised_zip

KINDS = ("auto", "text", "int", "decimal", "percent", "date", "datetime")
FORMATS = {
    "int": "#,##0",
    "decimal": "#,##0.0",
    "percent": "#,##0.0",  # values are percentages (0-100), the header says "(%)"
    "date": "dd/mm/yyyy",
    "datetime": "dd/mm/yyyy hh:mm",
}
MAX_TEXT_WIDTH = 40  # wider text wraps
MIN_WIDTH = 6
HEADER_LINES = 3  # a header may wrap onto this many lines before its column widens for it
LINE_PT = 15.0  # the height of one line of 11 pt text
MAX_LINES = 12


def safe_cell(value):
    """A value for a spreadsheet cell that can never become a live formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@dataclass
class Column:
    header: str
    kind: str = "auto"
    width: float | None = None  # characters; computed from the content when None


@dataclass
class Sheet:
    """One sheet: a header row, the rows, then the total rows (bold, outside the filter)."""

    columns: list[Column]
    rows: list[list]
    totals: list[list] = field(default_factory=list)
    title: str = ""  # printed at the top of every page
    freeze: str = "A2"  # the header row; "C2" keeps the first two columns in view too
    fit_width: int = 1  # pages across when printed
    repeat_columns: str | None = None  # e.g. "A:B", printed on every page across


def as_sheet(spec: Sheet | tuple[Sequence[str], list[list]]) -> Sheet:
    if isinstance(spec, Sheet):
        return spec
    header, rows = spec
    return Sheet([Column(h) for h in header], rows)


def _kind_of(value, kind: str) -> str:
    if kind != "auto":
        return kind
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return "text"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "int"
    return "decimal"


def _value(value, kind: str):
    """The value as stored: rounded as it is shown (a percentage to one decimal), naive local datetimes."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return safe_cell(value)
    if kind in ("decimal", "percent") and isinstance(value, int | float):
        return round(float(value), 1)
    if kind == "int" and isinstance(value, float):
        return round(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        from bhxh.calendar.cycles import TZ

        return value.astimezone(TZ).replace(tzinfo=None)
    return value


def _shown_length(value, kind: str) -> int:
    if value is None:
        return 0
    if kind == "text" or isinstance(value, str):
        return len(unicodedata.normalize("NFC", str(value)))
    if kind in ("date",):
        return 10
    if kind == "datetime":
        return 16
    number = float(value)
    digits = len(f"{abs(number):,.0f}") + (2 if kind in ("decimal", "percent") else 0)
    return digits + (1 if number < 0 else 0)


def _widths(sheet: Sheet) -> list[float]:
    out = []
    for index, column in enumerate(sheet.columns):
        if column.width is not None:
            out.append(column.width)
            continue
        words = max((len(w) for w in column.header.split()), default=0)
        header = max(words, math.ceil(len(column.header) / HEADER_LINES))
        cells = 0
        for row in (*sheet.rows, *sheet.totals):
            if index < len(row):
                value = row[index]
                cells = max(cells, _shown_length(value, _kind_of(value, column.kind)))
        out.append(float(min(max(header, cells, MIN_WIDTH) + 2, MAX_TEXT_WIDTH + 2)))
    return out


def _wrapped_lines(text: str, width: float) -> int:
    """How many lines `text` takes in a column `width` characters wide, wrapped at spaces."""
    room = max(1, int(width * 1.15) - 1)  # a column fits about 15% more Vietnamese letters than digits
    lines = 0
    for paragraph in str(text).split("\n"):
        used, count = 0, 1
        for word in paragraph.split():
            size = len(word)
            if used and used + 1 + size > room:
                count += 1 + (size - 1) // room
                used = size % room or room
            else:
                used += size + (1 if used else 0)
                if used > room:
                    count += (used - 1) // room
                    used = used % room or room
        lines += count
    return min(lines, MAX_LINES)


def _height(values: Sequence, widths: list[float], kinds: list[str], *, header: bool = False) -> float | None:
    """The row's height in points when one of its texts wraps (spreadsheets do not grow a row written by a
    program), else None."""
    lines = 1
    for index, value in enumerate(values):
        if isinstance(value, str) and index < len(widths) and (header or kinds[index] in ("text", "auto")):
            lines = max(lines, _wrapped_lines(value, widths[index] - (1 if header else 0)))
    return LINE_PT * lines + 2 if lines > 1 else None


def write_xlsx(
    path: Path,
    sheets: Mapping[str, Sheet | tuple[Sequence[str], list[list]]],
    *,
    title: str = "",
    created: dt.datetime | None = None,
) -> Path:
    """Write the sheets (a `Sheet`, or a (header, rows) pair whose cell kinds are guessed from the values); the
    same sheets give the same bytes, dated `created` in the file's properties.

    Streams the rows (openpyxl's write-only mode): a consolidated report is written in about half the time and
    memory of a workbook held cell by cell.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    thin = Side(style="thin", color="999999")
    styles = {}
    for kind in KINDS:
        style = NamedStyle(name=f"bhxh_{kind}")
        style.number_format = FORMATS.get(kind, "General")
        style.alignment = Alignment(vertical="top", wrap_text=kind == "text")
        wb.add_named_style(style)
        styles[kind] = style.name
        bold = NamedStyle(name=f"bhxh_{kind}_total", font=Font(bold=True), number_format=FORMATS.get(kind, "General"))
        bold.alignment = Alignment(vertical="top", wrap_text=kind == "text")
        bold.border = Border(top=thin)
        wb.add_named_style(bold)
    head = NamedStyle(name="bhxh_header", font=Font(bold=True))
    head.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    head.fill = PatternFill("solid", fgColor="E7EEF7")
    head.border = Border(bottom=thin, top=thin, left=thin, right=thin)
    wb.add_named_style(head)
    for name, spec in sheets.items():
        sheet = as_sheet(spec)
        ws = wb.create_sheet(name[:31])
        widths = _widths(sheet)
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        last_col = get_column_letter(max(1, len(sheet.columns)))
        ws.freeze_panes = sheet.freeze
        ws.auto_filter.ref = f"A1:{last_col}{len(sheet.rows) + 1}"
        ws.print_title_rows = "1:1"
        if sheet.repeat_columns:
            ws.print_title_cols = sheet.repeat_columns
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth = sheet.fit_width
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.6
        ws.oddHeader.center.text = (sheet.title or title or name).replace("&", "&&")
        ws.oddFooter.center.text = "Trang &P/&N"
        headers = [c.header for c in sheet.columns]
        if (height := _height(headers, widths, [c.kind for c in sheet.columns], header=True)) is not None:
            ws.row_dimensions[1].height = height
        header = []
        for column in sheet.columns:
            cell = WriteOnlyCell(ws, value=safe_cell(column.header))
            cell.style = "bhxh_header"
            header.append(cell)
        ws.append(header)
        kinds = [c.kind for c in sheet.columns]
        row_index = 1
        for rows, suffix in ((sheet.rows, ""), (sheet.totals, "_total")):
            for row in rows:
                row_index += 1
                if (height := _height(row, widths, kinds)) is not None:
                    ws.row_dimensions[row_index].height = height
                out = []
                for index, value in enumerate(row):
                    kind = _kind_of(value, kinds[index] if index < len(kinds) else "auto")
                    cell = WriteOnlyCell(ws, value=_value(value, kind))
                    cell.style = styles[kind] + suffix
                    out.append(cell)
                ws.append(out)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(normalised_zip(buffer.getvalue(), created or FIXED))  # the same sheets, the same bytes
    return path

"""Intake of units' report files ("tiếp nhận báo cáo"): read an XLSX or CSV report, validate it against its
report form and the cycle, and keep every version in the store with its checksum.

Every problem a person can fix becomes a `Problem` naming the sheet, row and column, in Vietnamese and
English (the location is also written at the head of both messages, so a message read alone still says
where to look); nothing here raises on bad input.

Validation is vectorised over the whole table (pandas + pandera); Python loops only run over the rows that
fail, to write their messages. A clean table takes a shorter road with the same outcome: a CSV table whose
columns and cells `_frame` has nothing to say about is built column by column (`_csv_frame_fast`), and a table
on which a few array checks find nothing skips pandera and the per-check pandas calls (`_clean_table`); as soon
as anything might be wrong, the full checks run and write the messages.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from bhxh.calendar import Catalogue, Cycle, default_catalogue
from bhxh.errors import BhxhError
from bhxh.reportforms import ReportForm, get_form
from bhxh.store import StoredFile, Submission
from bhxh.units import UnitRegistry, default_registry

MAX_FILE_BYTES = 10 * 1024 * 1024  # documented in the README: larger files are refused
META_SHEET = "Thông tin"
META_LABELS = {"Mã đơn vị": "unit", "Mã báo cáo": "obligation", "Kỳ báo cáo": "period"}
FILENAME_RE = re.compile(r"^(?P<obligation>[a-z0-9_]+)__(?P<period>\d{4}(?:-[QH]\d)?)__(?P<unit>[a-z0-9_]+)\.(xlsx|csv)$")
DANGEROUS_PREFIXES = ("=", "+", "-", "@")
HEADER_SEARCH_ROWS = 10  # a title line or two above the table header is tolerated
OLE2_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # encrypted .xlsx and legacy .xls are OLE2 compound files
_SHORT = 60  # cell values quoted in messages are cut to this length


@dataclass
class Problem:
    """One thing wrong with a report, with where it is and what to do."""

    code: str
    message_vi: str
    message_en: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def where_vi(self) -> str:
        return _where(self.sheet, self.row, self.column, "vi")

    def where_en(self) -> str:
        return _where(self.sheet, self.row, self.column, "en")


def _where(sheet: str | None, row: int | None, column: str | None, lang: str) -> str:
    parts = []
    if sheet:
        parts.append(f"Sheet '{sheet}'")
    if row:
        parts.append(f"{'dòng' if lang == 'vi' else 'row'} {row}")
    if column:
        parts.append(f"{'cột' if lang == 'vi' else 'column'} '{column}'")
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


@dataclass
class ParsedReport:
    meta: dict[str, str] = field(default_factory=dict)
    frame: pd.DataFrame | None = None
    rows: list[int] = field(default_factory=list)  # spreadsheet row (CSV: line) number of each frame row
    problems: list[Problem] = field(default_factory=list)
    kind: str | None = None  # xlsx | csv
    formula_cells: set[tuple[int, str]] = field(default_factory=set)  # (row, column key) reported as formulas
    tasks: pd.DataFrame | None = None  # the task sheets of a plan-based report (bhxh.task_reports), if any


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _short(value: object) -> str:
    text = str(value).replace("\x00", "")
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def _clean_meta(value: object) -> str:
    """A metadata value as text: 2019.0 read from Excel is '2019'; control characters are dropped."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFC", str(value))
    return "".join(ch for ch in text if ch.isprintable()).strip()


def _norm_header(value: object) -> str:
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).replace("\u00a0", " ")
    return " ".join(text.split())


# -- numbers --------------------------------------------------------------------------------------------
_VN_PATTERN = r"[+-]?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]+)?"  # 1.234,5  12,5  1234
_DOT_PATTERN = r"[+-]?[0-9]+\.[0-9]+"  # 12.5 (as Excel or an English locale writes it)
_VN_NUMBER = re.compile(rf"^{_VN_PATTERN}$")
_DOT_DECIMAL = re.compile(rf"^{_DOT_PATTERN}$")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def parse_number(value: object) -> float | None:
    """A number as a Vietnamese user writes it ("1.234,5", "12,5", "1234", "12,5%") or as Excel stores it.

    Returns None for an empty cell; raises ValueError (only) for anything that is not a finite number.
    "1.234" is one thousand two hundred and thirty-four (Vietnamese grouping), "12.5" is twelve and a half.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        if value != value:  # NaN from pandas
            return None
        try:
            number = float(value)
        except OverflowError as exc:
            raise ValueError(value) from exc
        if not np.isfinite(number):
            raise ValueError(value)
        return number
    if not isinstance(value, str):
        raise ValueError(value)
    text = _SPACES.sub("", value)
    if text.endswith("%"):
        text = text[:-1]
    if text == "":
        return None
    if _VN_NUMBER.match(text):
        number = float(text.replace(".", "").replace(",", "."))
    elif _DOT_DECIMAL.match(text):
        number = float(text)
    else:
        raise ValueError(text)
    if not np.isfinite(number):
        raise ValueError(text)
    return number


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`parse_number` over a whole column at once: (float64 values, mask of cells that are not numbers).

    Strings go through vectorised regular expressions, numbers through one conversion; only odd objects
    (dates, booleans, huge integers) fall back to the cell-by-cell parser.
    """
    values = pd.Series(values, dtype=object).reset_index(drop=True)
    if len(values) <= _SMALL_COLUMN:  # the vectorised path has a fixed cost worth paying only on long columns
        return _parse_numbers_small(values)
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    types = values.map(type)
    is_str = types.isin([str]).to_numpy().copy()
    is_num = types.isin([int, float, np.float64, np.int64]).to_numpy().copy()
    if is_num.any():
        try:
            nums = pd.to_numeric(values[is_num], errors="coerce").to_numpy(dtype=float)
            out[is_num] = nums
            bad[is_num] = np.isinf(nums)
        except (OverflowError, TypeError, ValueError):
            is_num[:] = False  # let the fallback below do these cells one by one
    if is_str.any():
        text = values[is_str].astype(str).str.replace(_SPACES, "", regex=True).str.removesuffix("%")
        vn = text.str.fullmatch(_VN_PATTERN).to_numpy(dtype=bool)
        dot = text.str.fullmatch(_DOT_PATTERN).to_numpy(dtype=bool) & ~vn
        empty = (text == "").to_numpy(dtype=bool)
        converted = np.full(len(text), np.nan)
        if vn.any():
            converted[vn] = pd.to_numeric(
                text[vn].str.replace(".", "", regex=False).str.replace(",", ".", regex=False), errors="coerce"
            ).to_numpy(dtype=float)
        if dot.any():
            converted[dot] = pd.to_numeric(text[dot], errors="coerce").to_numpy(dtype=float)
        out[is_str] = converted
        bad[is_str] = ~(vn | dot | empty) | ((vn | dot) & ~np.isfinite(converted))
    other = ~(is_str | is_num) & ~types.isin([type(None)]).to_numpy()
    for i in np.flatnonzero(other):
        try:
            number = parse_number(values.iat[i])
            out[i] = np.nan if number is None else number
        except ValueError:
            bad[i] = True
    out[bad] = np.nan
    return pd.Series(out, dtype="float64"), pd.Series(bad, dtype=bool)


_SMALL_COLUMN = 64


def _parse_numbers_small(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    out, bad = [], []
    for value in values:
        try:
            number = parse_number(value)
            out.append(np.nan if number is None else number)
            bad.append(False)
        except ValueError:
            out.append(np.nan)
            bad.append(True)
    return pd.Series(out, dtype="float64"), pd.Series(bad, dtype=bool)


# -- reading --------------------------------------------------------------------------------------------
class _Reject(Exception):
    """The file cannot be read at all; carries the one problem that says why."""

    def __init__(self, problem: Problem, meta: dict[str, str] | None = None) -> None:
        super().__init__(problem.message_en)
        self.problem = problem
        self.meta = meta or {}  # the metadata block, when it could be read before the table failed


def _problem(code: str, vi: str, en: str, *, sheet: str | None = None, row: int | None = None, column: str | None = None) -> Problem:
    """A problem whose messages start with where it is ("Sheet 'Chỉ tiêu', dòng 12, cột 'Thực hiện': ...")."""
    where_vi, where_en = _where(sheet, row, column, "vi"), _where(sheet, row, column, "en")
    if where_vi:
        vi, en = f"{where_vi}: {vi}", f"{where_en}: {en}"
    return Problem(code, vi, en, sheet=sheet, row=row, column=column)


def read_report(content: bytes, filename: str, form: ReportForm | None = None) -> ParsedReport:
    """Read an XLSX or CSV report into its metadata and its table; never raises on bad input."""
    result = ParsedReport()
    if len(content) == 0:
        result.problems.append(_problem("empty_file", "Tệp rỗng: không có nội dung. Hãy gửi lại tệp báo cáo đã lưu.", "The file is empty. Send the saved report file again."))
        return result
    if len(content) > MAX_FILE_BYTES:
        result.problems.append(
            _problem(
                "file_too_large",
                f"Tệp lớn {len(content) // 1024} KB, vượt giới hạn {MAX_FILE_BYTES // 1024 // 1024} MB. Hãy gửi riêng phần số liệu.",
                f"The file is {len(content) // 1024} KB, over the {MAX_FILE_BYTES // 1024 // 1024} MB limit. Send the data appendix alone.",
            )
        )
        return result
    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".xlsx":
            result.kind = "xlsx"
            meta, header, header_row, body, body_rows, formulas, extra = _read_xlsx(content, form)
        elif suffix == ".csv":
            result.kind = "csv"
            meta, header, header_row, body, body_rows = _read_csv_table(content, form)
            fast = _csv_frame_fast(header, body, body_rows, form)
            if fast is not None:  # a clean table: the same frame `_frame` builds, without its per-cell work
                result.meta = meta
                result.frame, result.rows = fast
                return result
            body = _blank_cells(body)
            formulas, extra = [], []
        else:
            raise _Reject(
                _problem(
                    "unsupported_type",
                    f"Định dạng '{_short(suffix) or 'không có đuôi'}' không được nhận. Hãy gửi tệp .xlsx hoặc .csv theo mẫu.",
                    f"Format '{_short(suffix) or 'no extension'}' is not accepted. Send an .xlsx or .csv file made from the template.",
                )
            )
    except _Reject as exc:
        result.problems.append(exc.problem)
        result.meta = exc.meta
        return result
    except BhxhError as exc:
        result.problems.append(_problem(exc.code, exc.message_vi, exc.message_en))
        return result
    result.meta = meta
    result.problems.extend(extra)
    sheet = form.sheet if (form and result.kind == "xlsx") else None
    by_header = {c.header: c for c in form.columns} if form else {}
    for row, col in formulas:
        name = header[col] if col < len(header) and header[col] else _column_letter(col)
        if name in by_header:
            result.formula_cells.add((row, by_header[name].key))
        result.problems.append(
            _problem(
                "formula",
                "Ô chứa công thức thay vì giá trị. Hãy sao chép và dán dạng giá trị (Paste Special > Values).",
                "The cell holds a formula instead of a value. Copy it and paste it as values (Paste Special > Values).",
                sheet=form.sheet if form else None,
                row=row,
                column=name,
            )
        )
    result.frame, result.rows = _frame(header, header_row, body, body_rows, form, result.problems, sheet)
    return result


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _header_index(rows: list[list], form: ReportForm | None) -> int:
    """The row holding the table header: the first of the top rows naming the form's first column."""
    if form is None:
        return 0
    wanted = {form.columns[0].header, *(c.header for c in form.columns if c.required)}
    for i, values in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if wanted & {_norm_header(v) for v in values}:
            return i
    return 0


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_xlsx(content: bytes, form: ReportForm | None):
    import openpyxl

    if not zipfile.is_zipfile(io.BytesIO(content)):
        if content[:8] == OLE2_MAGIC:
            raise _Reject(_problem(
                "encrypted_or_xls",
                "Tệp được đặt mật khẩu hoặc là định dạng Excel cũ (.xls). Hãy bỏ mật khẩu (File > Info > Protect Workbook) và lưu lại dạng .xlsx.",
                "The workbook is password-protected or an old .xls file. Remove the password (File > Info > Protect Workbook) and save it as .xlsx.",
            ))
        raise _Reject(_problem(
            "not_a_spreadsheet",
            "Tệp không phải bảng tính Excel (.xlsx) dù có đuôi .xlsx. Hãy mở bằng Excel và lưu lại theo mẫu.",
            "The file is not an Excel workbook although it ends in .xlsx. Open it in Excel and save it from the template.",
        ))
    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), data_only=False, read_only=False)
    except Exception as exc:  # any failure inside the zip/XML parsers means the workbook is unusable
        raise _Reject(_problem(
            "corrupt_workbook",
            f"Tệp Excel bị hỏng, không mở được ({type(exc).__name__}). Hãy mở lại bằng Excel, lưu lại và gửi lại.",
            f"The workbook is corrupt and cannot be opened ({type(exc).__name__}). Open it in Excel, save it again and resend.",
        )) from exc
    sheet_name = form.sheet if form else None
    names = {unicodedata.normalize("NFC", n.strip()): n for n in wb.sheetnames}
    if META_SHEET not in names:
        raise _Reject(_problem(
            "missing_meta_sheet",
            f"Thiếu sheet '{META_SHEET}' (mã đơn vị, mã báo cáo, kỳ báo cáo). Hãy dùng tệp mẫu.",
            f"The sheet '{META_SHEET}' (unit, report and period codes) is missing. Use the template.",
            sheet=META_SHEET,
        ))
    meta = {}
    for row in wb[names[META_SHEET]].iter_rows(min_row=1, max_col=2, values_only=True):
        if not row or row[0] is None:
            continue
        label = _norm_header(row[0]).rstrip(":").strip()
        if label in META_LABELS and len(row) > 1 and not _blank(row[1]):
            meta[META_LABELS[label]] = _clean_meta(row[1])
    if sheet_name and sheet_name not in names:
        raise _Reject(_problem(
            "missing_data_sheet",
            f"Thiếu sheet '{sheet_name}'. Hãy dùng tệp mẫu của báo cáo, không đổi tên sheet.",
            f"The sheet '{sheet_name}' is missing. Use the report's template and keep its sheet names.",
            sheet=sheet_name,
        ), meta)
    ws = wb[names[sheet_name]] if sheet_name else wb.worksheets[-1]
    grid, formulas_at = [], []
    for cells in ws.iter_rows(min_row=1):
        values = []
        for c in cells:
            if c.data_type == "f":
                formulas_at.append((c.row, c.column - 1))
                values.append(None)
            else:
                values.append(c.value)
        grid.append((cells[0].row if cells else len(grid) + 1, values))
    head = _header_index([v for _, v in grid], form)
    header_row = grid[head][0] if grid else 1
    merged = list(ws.merged_cells.ranges)
    header_merged = [str(r) for r in merged if r.min_row <= header_row <= r.max_row]
    if header_merged:
        raise _Reject(_problem(
            "merged_header",
            f"Dòng tiêu đề có ô gộp ({', '.join(header_merged)}). Hãy bỏ gộp ô (Merge & Center > Unmerge), mỗi cột một tiêu đề.",
            f"The header row has merged cells ({', '.join(header_merged)}). Unmerge them (Merge & Center > Unmerge): one header per column.",
            sheet=ws.title, row=header_row, column=", ".join(header_merged),
        ), meta)
    extra = [
        _problem(
            "merged_cells",
            f"Ô gộp {r} trong bảng số liệu. Hãy bỏ gộp và nhập giá trị vào từng ô.",
            f"Merged cells {r} inside the data table. Unmerge them and fill every cell.",
            sheet=ws.title, row=r.min_row, column=str(r),
        )
        for r in merged if r.min_row > header_row
    ]
    header = [_norm_header(v) for v in grid[head][1]] if grid else []
    body, body_rows = [], []
    formula_set = {(r, c) for r, c in formulas_at if r > header_row}
    formula_rows = {r for r, _ in formula_set}
    for number, values in grid[head + 1 :]:
        if all(_blank(v) for v in values) and number not in formula_rows:
            continue
        body.append(values)
        body_rows.append(number)
    return meta, header, header_row, body, body_rows, sorted(formula_set), extra


def _decode_csv(content: bytes) -> str:
    try:
        if content.startswith(b"\xef\xbb\xbf"):
            return content[3:].decode("utf-8")
        if content.startswith(b"\xff\xfe"):
            return content[2:].decode("utf-16-le")
        if content.startswith(b"\xfe\xff"):
            return content[2:].decode("utf-16-be")
        if len(content) >= 2 and (content[0] == 0) != (content[1] == 0):
            return content.decode("utf-16-be" if content[0] == 0 else "utf-16-le")
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            return content.decode("cp1258")
    except UnicodeDecodeError as exc:
        raise _Reject(_problem(
            "csv_encoding",
            "Không nhận ra bảng mã của tệp CSV. Hãy lưu lại bằng Excel dạng 'CSV UTF-8 (Comma delimited)'.",
            "The CSV file's encoding is not recognised. Save it from Excel as 'CSV UTF-8 (Comma delimited)'.",
        )) from exc


def _read_csv(content: bytes, form: ReportForm | None = None):
    """CSV form: metadata lines '# Mã đơn vị: ...' first, then the table with its header."""
    meta, header, header_row, rows, body_rows = _read_csv_table(content, form)
    return meta, header, header_row, _blank_cells(rows), body_rows


def _blank_cells(rows: list[list[str]]) -> list[list[str | None]]:
    """CSV cells as `_frame` takes them: a blank cell is None."""
    return [[v if v.strip() != "" else None for v in r] for r in rows]


def _sniff_delimiter(line: str) -> str:
    """The table's delimiter, guessed from its first line (the header: units send the same one again and again,
    and the same line always gives the same guess, so short lines' guesses are kept)."""
    return _sniff_cached(line) if len(line) <= 2048 else _sniff(line)


@lru_cache(maxsize=256)
def _sniff_cached(line: str) -> str:
    return _sniff(line)


def _sniff(line: str) -> str:
    try:
        return csv.Sniffer().sniff(line, delimiters=",;\t").delimiter
    except Exception:  # the sniffer's heuristics fail in many ways on odd lines; ',' is the default
        return ";" if line.count(";") > line.count(",") else ","


def _read_csv_table(content: bytes, form: ReportForm | None = None):
    """`_read_csv` with the table's cells as read (blank cells still strings)."""
    utf16 = content.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(content) >= 2 and (content[0] == 0) != (content[1] == 0))
    if content.startswith(b"PK\x03\x04") or content[:8] == OLE2_MAGIC:
        raise _Reject(_problem(
            "not_csv",
            "Tệp là bảng tính Excel nhưng có đuôi .csv. Hãy gửi với đuôi .xlsx hoặc lưu lại dạng CSV UTF-8.",
            "The file is an Excel workbook named .csv. Send it as .xlsx or save it as CSV UTF-8.",
        ))
    if b"\x00" in content and not utf16:
        raise _Reject(_problem(
            "not_csv", "Tệp không phải CSV (có dữ liệu nhị phân). Hãy lưu lại dạng CSV UTF-8 từ tệp mẫu.",
            "The file is not CSV (it holds binary data). Save it as CSV UTF-8 from the template.",
        ))
    text = unicodedata.normalize("NFC", _decode_csv(content)).replace("\x00", "")
    meta, table_lines, line_numbers = {}, [], []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            label, _, value = stripped.lstrip("#").partition(":")
            if _norm_header(label) in META_LABELS:
                meta[META_LABELS[_norm_header(label)]] = _clean_meta(value.strip().strip(",;").strip())
            continue
        if not stripped.strip(",;\t"):
            continue
        table_lines.append(line)
        line_numbers.append(number)
    if not table_lines:
        raise _Reject(_problem("empty_table", "Tệp CSV không có bảng số liệu. Hãy dùng tệp mẫu.", "The CSV file has no data table. Use the template."), meta)
    delimiter = _sniff_delimiter(table_lines[0])
    try:
        rows = list(csv.reader(table_lines, delimiter=delimiter))
    except csv.Error as exc:
        raise _Reject(_problem(
            "corrupt_csv", f"Tệp CSV không đọc được ({_short(exc)}). Hãy lưu lại dạng CSV UTF-8 từ tệp mẫu.",
            f"The CSV file cannot be read ({_short(exc)}). Save it as CSV UTF-8 from the template.",
        )) from exc
    head = _header_index(rows, form)
    header = [_norm_header(h) for h in rows[head]]
    body = rows[head + 1 :]
    return meta, header, line_numbers[head], body, line_numbers[head + 1 : head + 1 + len(body)]


def _frame(header, header_row, body, body_rows, form, problems, sheet):
    if form is None:
        width = max([len(header), *(len(r) for r in body)]) if body else len(header)
        columns = [h or _column_letter(i) for i, h in enumerate(header)] + [_column_letter(i) for i in range(len(header), width)]
        rows = [list(r) + [None] * (width - len(r)) for r in body]
        return pd.DataFrame(rows, columns=pd.Index(columns, dtype=object), dtype=object), body_rows
    by_header = {c.header: c for c in form.columns}
    named = [h for h in header if h]
    unknown = [h for h in dict.fromkeys(named) if h not in by_header]
    missing = [c.header for c in form.columns if c.required and c.header not in header]
    dup = sorted({h for h in named if named.count(h) > 1})
    for h in unknown:
        problems.append(_problem("extra_column", f"Cột '{_short(h)}' không có trong mẫu. Hãy xóa cột này.", f"Column '{_short(h)}' is not in the template. Remove it.", sheet=sheet, row=header_row, column=_short(h)))
    width = max((len(r) for r in body), default=0)
    for i in range(width):
        if i < len(header) and header[i]:
            continue
        if any(i < len(r) and not _blank(r[i]) for r in body):
            letter = _column_letter(i)
            problems.append(_problem("extra_column", f"Cột {letter} không có tiêu đề nhưng có dữ liệu. Hãy xóa dữ liệu thừa hoặc dùng đúng mẫu.", f"Column {letter} has data but no header. Remove the extra data or use the template.", sheet=sheet, row=header_row, column=letter))
    for h in missing:
        problems.append(_problem("missing_column", f"Thiếu cột '{h}'. Hãy dùng đúng tệp mẫu, không xóa hay đổi tên cột.", f"Column '{h}' is missing. Use the template without deleting or renaming columns.", sheet=sheet, row=header_row, column=h))
    for h in dup:
        problems.append(_problem("duplicate_column", f"Cột '{_short(h)}' xuất hiện nhiều lần. Hãy giữ một cột.", f"Column '{_short(h)}' appears more than once. Keep one.", sheet=sheet, row=header_row, column=_short(h)))
    if missing or dup:
        return None, []
    positions = {by_header[h].key: i for i, h in enumerate(header) if h in by_header}
    data = {key: [r[i] if i < len(r) else None for r in body] for key, i in positions.items()}
    for c in form.columns:
        data.setdefault(c.key, [None] * len(body))
    frame = pd.DataFrame(data, dtype=object)
    row_numbers = np.asarray(body_rows, dtype=int)
    for c in form.columns:
        col = frame[c.key]
        if c.type == "number":
            parsed, bad = parse_numbers(col)
            for i in np.flatnonzero(bad.to_numpy()):
                value = col.iat[i]
                problems.append(_problem("not_a_number", f"Giá trị '{_short(value)}' không phải là số. Hãy nhập số, ví dụ 1.234,5 hoặc 1234.5.", f"'{_short(value)}' is not a number. Enter a number, e.g. 1.234,5 or 1234.5.", sheet=sheet, row=int(row_numbers[i]), column=c.header))
            frame[c.key] = parsed.to_numpy()
        else:
            text = col.map(lambda v: None if v is None else str(v).strip(), na_action="ignore").astype(object)
            frame[c.key] = text
            risky = text.str.startswith(DANGEROUS_PREFIXES, na=False).astype(bool).to_numpy()
            for i in np.flatnonzero(risky):
                value = text.iat[i]
                problems.append(_problem("formula_text", f"Ô bắt đầu bằng ký tự '{value[0]}' nên có thể bị hiểu là công thức. Hãy bỏ ký tự này (hoặc viết lại, ví dụ 'Giảm 5' thay cho '-5').", f"The cell starts with '{value[0]}' and could act as a formula. Remove that character (or reword, e.g. 'Down 5' instead of '-5').", sheet=sheet, row=int(row_numbers[i]), column=c.header))
    return frame, body_rows


_SEP = "\x1f"  # joins a column's cells into one string, to check and convert them in one pass
_VN_COLUMN = re.compile(rf"(?:{_VN_PATTERN})?(?:{_SEP}(?:{_VN_PATTERN})?)*")  # cells that are empty or plain 1.234,5
_RISKY_CHARS = tuple(DANGEROUS_PREFIXES)


@dataclass(frozen=True)
class _FormInfo:
    """What validation looks up in a form, computed once per form."""

    by_header: dict
    index: dict  # indicator code -> position in form.indicators
    is_percent: np.ndarray
    is_count: np.ndarray
    measures: tuple  # measure of each indicator, by position


_FORM_INFO: dict[int, tuple[ReportForm, _FormInfo]] = {}


def _form_info(form: ReportForm) -> _FormInfo:
    # keyed by identity: hashing a form hashes every indicator, which costs more than the lookups it saves
    hit = _FORM_INFO.get(id(form))
    if hit is not None and hit[0] is form:
        return hit[1]
    info = _FormInfo(
        by_header={c.header: c for c in form.columns},
        index={ind.code: i for i, ind in enumerate(form.indicators)},
        is_percent=np.array([ind.kind == "percent" for ind in form.indicators], dtype=bool),
        is_count=np.array([ind.kind == "count" for ind in form.indicators], dtype=bool),
        measures=tuple(ind.measure for ind in form.indicators),
    )
    if len(_FORM_INFO) >= 64:
        _FORM_INFO.clear()
    _FORM_INFO[id(form)] = (form, info)  # the form is kept alive with its entry, so its id is not reused
    return info


def _csv_frame_fast(header: list[str], rows: list[list[str]], body_rows: list[int], form: ReportForm | None):
    """The frame and row numbers `_frame` gives for a CSV table that `_frame` has nothing to say about, built
    column by column; None when the table has any problem (or anything unusual), for `_frame` to handle."""
    if form is None or not rows:
        return None
    width = len(header)
    by_header = _form_info(form).by_header
    if "" in header or len(set(header)) != width or not all(h in by_header for h in header):
        return None
    if any(c.required and c.header not in header for c in form.columns):
        return None
    if set(map(len, rows)) != {width}:
        return None
    n = len(rows)
    columns = dict(zip((by_header[h].key for h in header), zip(*rows, strict=True), strict=True))
    keys = list(columns) + [c.key for c in form.columns if c.key not in columns]
    arrays: dict[str, np.ndarray] = {}
    for c in form.columns:
        raw = columns.get(c.key)
        if c.type == "number":
            values = np.full(n, np.nan) if raw is None else _fast_numbers(raw, n)
            if values is None:
                return None
        elif raw is None:
            values = np.array([None] * n, dtype=object)
        else:
            stripped = list(map(str.strip, raw))
            joined = "".join(stripped)
            if any(ch in joined for ch in _RISKY_CHARS) and any(v.startswith(DANGEROUS_PREFIXES) for v in stripped):
                return None
            values = np.empty(n, dtype=object)
            # as `_frame` leaves it: a blank cell is NaN in a column with text (pandas' str dtype, back to object),
            # None in a column without any
            values[:] = [v or np.nan for v in stripped] if joined else [None] * n
        arrays[c.key] = values
    return _make_frame(keys, [arrays[k] for k in keys], n), body_rows


def _fast_numbers(raw: tuple[str, ...], n: int) -> np.ndarray | None:
    """`parse_numbers` of a CSV column (blank cells as None); None when a cell is not a number."""
    if not any(raw):
        return np.full(n, np.nan)
    joined = _SEP.join(raw)
    if _VN_COLUMN.fullmatch(joined) and joined.count(_SEP) == n - 1:
        parts = joined.replace(".", "").replace(",", ".").split(_SEP)
        if "" in raw:
            values = np.array([float(p) if p else np.nan for p in parts], dtype=float)
        else:
            values = np.fromiter(map(float, parts), dtype=float, count=n)
        if not np.isinf(values).any():
            return values
    parsed, bad = parse_numbers(pd.Series([v if v.strip() != "" else None for v in raw], dtype=object))
    return None if bad.any() else parsed.to_numpy()


def _make_frame(keys: list[str], arrays: list[np.ndarray], n: int) -> pd.DataFrame:
    """A frame of these columns as they are (object columns stay object, not pandas' str dtype)."""
    try:
        return pd.DataFrame._from_arrays(arrays, columns=pd.Index(keys), index=pd.RangeIndex(n), verify_integrity=False)
    except (AttributeError, TypeError, ValueError):  # the private constructor changed: build it the public way
        frame = pd.DataFrame({k: a for k, a in zip(keys, arrays, strict=True) if a.dtype == object}, dtype=object)
        for k, a in zip(keys, arrays, strict=True):
            if a.dtype != object:
                frame[k] = a
        return frame[keys]


# -- validation -----------------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _pandera_schema(form: ReportForm) -> pa.DataFrameSchema:
    """Types, required cells, allowed codes and ranges of a form's table (uniqueness is checked apart, to tell a
    repeated row from a code used twice with different values)."""
    return pa.DataFrameSchema(
        {
            "code": pa.Column(object, pa.Check.isin(form.indicator_codes), nullable=False, coerce=False),
            "actual": pa.Column(float, pa.Check.ge(0), nullable=True),
            "plan": pa.Column(float, pa.Check.ge(0), nullable=True),
        },
        strict=False,
    )


def validate_report(
    parsed: ParsedReport,
    form: ReportForm,
    *,
    obligation_id: str | None = None,
    cycle: Cycle | None = None,
    unit_group: str | None = None,
    unit_exists: bool = True,
    filename: str | None = None,
) -> list[Problem]:
    """Every problem with a parsed report: metadata, the form's schema, cross-field rules, the cycle."""
    problems = list(parsed.problems)
    meta = parsed.meta
    meta_sheet = META_SHEET if parsed.kind != "csv" else None
    for label, key in META_LABELS.items():
        if not meta.get(key) and parsed.kind is not None and not _unreadable(parsed):
            where = f"sheet '{META_SHEET}'" if parsed.kind == "xlsx" else "đầu tệp CSV ('# " + label + ": ...')"
            where_en = f"sheet '{META_SHEET}'" if parsed.kind == "xlsx" else "the top of the CSV file ('# " + label + ": ...')"
            problems.append(_problem("missing_meta", f"Thiếu '{label}'. Hãy ghi '{label}' vào {where}.", f"'{label}' is missing. Write '{label}' in {where_en}.", sheet=meta_sheet, column=label))
    if filename:
        match = FILENAME_RE.match(Path(filename).name)
        if not match:
            problems.append(_problem("filename", f"Tên tệp '{_short(Path(filename).name)}' không đúng quy ước <mã báo cáo>__<kỳ>__<mã đơn vị>.xlsx, ví dụ nq51_action_programme__2019__bhxh_tinh_yen_bai.xlsx. Hãy đặt lại tên tệp.", f"The file name '{_short(Path(filename).name)}' does not follow <report>__<period>__<unit>.xlsx, e.g. nq51_action_programme__2019__bhxh_tinh_yen_bai.xlsx. Rename the file."))
        else:
            for key, label in (("obligation", "Mã báo cáo"), ("period", "Kỳ báo cáo"), ("unit", "Mã đơn vị")):
                if meta.get(key) and match[key] != meta[key]:
                    problems.append(_problem("filename_mismatch", f"Tên tệp ghi {label} '{match[key]}' nhưng trong tệp ghi '{_short(meta[key])}'. Hãy sửa cho khớp.", f"The file name says {label} '{match[key]}' but the file says '{_short(meta[key])}'. Make them agree.", sheet=meta_sheet, column=label))
    if obligation_id and meta.get("obligation") and meta["obligation"] != obligation_id:
        problems.append(_problem("wrong_obligation", f"Tệp là báo cáo '{_short(meta['obligation'])}', không phải '{obligation_id}'. Hãy dùng đúng mẫu của báo cáo '{obligation_id}'.", f"The file is report '{_short(meta['obligation'])}', not '{obligation_id}'. Use the template of '{obligation_id}'.", sheet=meta_sheet, column="Mã báo cáo"))
    if cycle and meta.get("period") and meta["period"] != cycle.key:
        problems.append(_problem("wrong_period", f"Kỳ báo cáo trong tệp là '{_short(meta['period'])}', kỳ đang tổng hợp là '{cycle.key}' ({cycle.period_start:%d/%m/%Y} - {cycle.period_end:%d/%m/%Y}). Hãy gửi số liệu của kỳ {cycle.key}.", f"The file's period is '{_short(meta['period'])}', the cycle is '{cycle.key}' ({cycle.period_start:%d/%m/%Y} - {cycle.period_end:%d/%m/%Y}). Send the data of period {cycle.key}.", sheet=meta_sheet, column="Kỳ báo cáo"))
    if not unit_exists:
        day = f" ({cycle.effective_last_day:%d/%m/%Y})" if cycle else ""
        problems.append(_problem("unit_not_existing", f"Đơn vị '{_short(meta.get('unit'))}' không còn (hoặc chưa) tồn tại vào ngày hạn nộp của kỳ này{day}. Hãy gửi dưới mã của đơn vị kế thừa.", f"Unit '{_short(meta.get('unit'))}' does not exist on this cycle's deadline{day}. Send it under the successor unit's code.", sheet=meta_sheet, column="Mã đơn vị"))
    frame = parsed.frame
    if frame is None:
        return problems
    sheet = form.sheet if parsed.kind != "csv" else None
    if frame.empty:
        problems.append(_problem("no_rows", "Bảng số liệu không có dòng nào. Hãy điền các chỉ tiêu theo mẫu.", "The data table has no rows. Fill in the indicators from the template.", sheet=sheet))
        return problems
    rows = np.asarray(parsed.rows, dtype=int)
    actual_header = form.header_of("actual")
    keys = {c.key for c in form.columns}
    clean = _clean_table(frame, form)
    if clean is not None:  # the schema, duplicate, kind and measure checks have nothing to say: skip them
        codes, actual_values = clean
        position = dict(zip(codes, range(len(codes)), strict=True))
        value_at = actual_values.__getitem__  # the same float64 values as `actual.iat` below
    else:
        try:
            _pandera_schema(form).validate(frame[["code", "actual", "plan"]], lazy=True)
        except pa.errors.SchemaErrors as exc:
            for case in exc.failure_cases.itertuples():
                column = case.column if isinstance(case.column, str) else None
                index = case.index if case.index == case.index else None
                row = int(rows[int(index)]) if index is not None and int(index) < len(rows) else None
                if str(case.check) == "not_nullable" and column == "code" and index is not None and frame.iloc[int(index)].drop("code").isna().all():
                    continue
                header = form.header_of(column) if column in keys else column
                problems.append(_schema_problem(str(case.check), case.failure_case, sheet, row, header))
        # a repeated row is reported once per repeat; the same code with different values is a different mistake
        full_dup = frame.duplicated(keep="first") & frame["code"].notna()
        code_dup = frame["code"].notna() & frame.duplicated("code", keep="first") & ~full_dup
        for i in np.flatnonzero(full_dup.to_numpy()):
            problems.append(_problem("duplicate_row", "Dòng này trùng hoàn toàn với một dòng phía trên. Hãy xóa dòng trùng.", "This row repeats a row above. Delete the duplicate.", sheet=sheet, row=int(rows[i])))
        for i in np.flatnonzero(code_dup.to_numpy()):
            code = frame["code"].iat[i]
            problems.append(_problem("duplicate_indicator", f"Mã chỉ tiêu '{_short(code)}' xuất hiện nhiều lần với số liệu khác nhau. Hãy giữ một dòng đúng.", f"Indicator code '{_short(code)}' appears more than once with different values. Keep the right row.", sheet=sheet, row=int(rows[i]), column=form.header_of("code")))
        kinds = {i.code: i.kind for i in form.indicators}
        measure_of = {i.code: i.measure for i in form.indicators}
        kind = frame["code"].map(kinds)
        actual = frame["actual"].astype(float)
        over = ((kind == "percent") & (actual > 100)).to_numpy(dtype=bool)
        for i in np.flatnonzero(over):
            problems.append(_problem("percent_range", f"Tỷ lệ {actual.iat[i]:g}% vượt quá 100%. Hãy nhập tỷ lệ từ 0 đến 100 (ví dụ 95,5).", f"Percentage {actual.iat[i]:g}% is over 100. Enter 0 to 100 (e.g. 95.5).", sheet=sheet, row=int(rows[i]), column=actual_header))
        fractional = ((kind == "count") & actual.notna() & (actual % 1 != 0)).to_numpy(dtype=bool)
        for i in np.flatnonzero(fractional):
            problems.append(_problem("not_integer", f"Số người/nhiệm vụ/hồ sơ phải là số nguyên, không phải {actual.iat[i]:g}.", f"A count must be a whole number, not {actual.iat[i]:g}.", sheet=sheet, row=int(rows[i]), column=actual_header))
        expected = frame["code"].map(measure_of)
        given = frame["measure"]
        wrong_measure = (expected.notna() & given.notna() & (given.astype(str).str.lower() != expected.astype(str).str.lower())).to_numpy(dtype=bool)
        for i in np.flatnonzero(wrong_measure):
            problems.append(_problem("measure", f"Đơn vị tính phải là '{expected.iat[i]}', không phải '{_short(given.iat[i])}'.", f"The unit of measure must be '{expected.iat[i]}', not '{_short(given.iat[i])}'.", sheet=sheet, row=int(rows[i]), column=form.header_of("measure")))
        first = frame.drop_duplicates("code")
        position = {code: i for i, code in zip(first.index, first["code"], strict=True) if isinstance(code, str)}
        value_at = actual.iat.__getitem__
    for ind in form.indicators:
        needed = unit_group in ind.required_for if unit_group else bool(ind.required_for)
        if ind.code not in position:
            if needed:
                problems.append(_problem("missing_indicator", f"Thiếu chỉ tiêu {ind.code} ({ind.name}). Hãy thêm dòng này theo mẫu.", f"Indicator {ind.code} ({ind.name}) is missing. Add its row from the template.", sheet=sheet, column=form.header_of("code")))
            continue
        i = position[ind.code]
        if needed and pd.isna(value_at(i)) and (int(rows[i]), "actual") not in parsed.formula_cells and not _not_number_at(problems, int(rows[i]), actual_header):
            problems.append(_problem("required_value", f"Chưa nhập số thực hiện của chỉ tiêu {ind.code} ({ind.name}). Hãy nhập số liệu.", f"No actual value for indicator {ind.code} ({ind.name}). Enter it.", sheet=sheet, row=int(rows[i]), column=actual_header))
    values = {code: value_at(i) for code, i in position.items()} if (form.rules or form.sum_rules) else {}
    for rule in form.rules:
        left, right = values.get(rule.left), values.get(rule.right)
        if left is not None and right is not None and pd.notna(left) and pd.notna(right) and left > right:
            problems.append(_problem(rule.code, f"{rule.message_vi} ({left:g} > {right:g}). Hãy kiểm tra lại hai chỉ tiêu {rule.left} và {rule.right}.", f"{rule.message_en} ({left:g} > {right:g}). Check {rule.left} and {rule.right}.", sheet=sheet, row=int(rows[position[rule.left]]), column=actual_header))
    for rule in form.sum_rules:
        if not all(c in values for c in rule.left + rule.right):
            continue
        left = sum(float(values[c]) for c in rule.left if pd.notna(values[c]))
        right = sum(float(values[c]) for c in rule.right if pd.notna(values[c]))
        if abs(left - right) > 1e-9:
            lines = ", ".join(str(int(rows[position[c]])) for c in rule.left + rule.right)
            problems.append(_problem(rule.code, f"{rule.message_vi}: {left:g} ≠ {right:g} (chênh lệch {left - right:g}; các dòng {lines}). Hãy kiểm tra lại các số liệu này.", f"{rule.message_en}: {left:g} != {right:g} (difference {left - right:g}; rows {lines}). Check these figures.", sheet=sheet, column=actual_header))
    return problems


def _clean_table(frame: pd.DataFrame, form: ReportForm) -> tuple[list[str], np.ndarray] | None:
    """(codes, actual values) of a table on which the schema (pandera), duplicate, percent, whole-number and
    measure checks of `validate_report` find nothing, found with a few array operations; None when any of them
    might find something (they then run, and say what)."""
    index = frame.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1) or not frame.columns.is_unique:
        return None
    if not all(k in frame.columns for k in ("code", "actual", "plan", "measure")):
        return None
    code_col, actual_col, plan_col = frame["code"], frame["actual"], frame["plan"]
    float64 = np.dtype("float64")
    if not (isinstance(code_col.dtype, np.dtype) and code_col.dtype == object):
        return None
    if not (isinstance(actual_col.dtype, np.dtype) and actual_col.dtype == float64 and isinstance(plan_col.dtype, np.dtype) and plan_col.dtype == float64):
        return None
    codes = code_col.tolist()
    n = len(codes)
    if set(map(type, codes)) != {str} or len(set(codes)) != n:
        return None
    info = _form_info(form)
    try:
        idx = np.fromiter(map(info.index.__getitem__, codes), dtype=np.intp, count=n)
    except KeyError:  # a code that is not in the form
        return None
    actual, plan = actual_col.to_numpy(), plan_col.to_numpy()
    if (actual < 0).any() or (plan < 0).any() or (info.is_percent[idx] & (actual > 100)).any():
        return None
    counts = actual[info.is_count[idx]]
    counts = counts[~np.isnan(counts)]
    if not np.isfinite(counts).all() or (counts % 1 != 0).any():
        return None
    given = frame["measure"].tolist()
    if not set(map(type, given)) <= {str, float, type(None)}:
        return None
    expected = [info.measures[i] for i in idx.tolist()]
    if given != expected:
        for g, e in zip(given, expected, strict=True):
            if g is None or e is None or (type(g) is float and g != g) or (type(g) is str and type(e) is str and g == e):
                continue  # a blank (None, or NaN in a str column) is not compared
            if type(g) is str and type(e) is str and g.isascii() and e.isascii() and g.lower() == e.lower():
                continue
            return None
    return codes, actual


def _unreadable(parsed: ParsedReport) -> bool:
    """The file could not be opened at all: its one problem says why, and nothing else is worth saying."""
    return parsed.frame is None and not parsed.meta and len(parsed.problems) == 1 and parsed.problems[0].row is None and parsed.problems[0].code not in {"missing_column", "extra_column"}


def _not_number_at(problems: list[Problem], row: int, column: str) -> bool:
    return any(p.code == "not_a_number" and p.row == row and p.column == column for p in problems)


def _schema_problem(check: str, value, sheet, row, header) -> Problem:
    if check.startswith("isin"):
        return _problem("unknown_indicator", f"Mã chỉ tiêu '{_short(value)}' không có trong mẫu. Hãy dùng đúng mã trong tệp mẫu.", f"Indicator code '{_short(value)}' is not in the form. Use the codes of the template.", sheet=sheet, row=row, column=header)
    if check.startswith("greater_than_or_equal_to"):
        return _problem("negative", f"Giá trị {_short(value)} âm. Hãy nhập số từ 0 trở lên.", f"Value {_short(value)} is negative. Enter 0 or more.", sheet=sheet, row=row, column=header)
    if check == "not_nullable":
        return _problem("required_value", "Ô bắt buộc đang để trống. Hãy nhập giá trị.", "A required cell is empty. Fill it in.", sheet=sheet, row=row, column=header)
    return _problem("invalid_value", f"Giá trị '{_short(value)}' không hợp lệ ({_short(check)}).", f"Value '{_short(value)}' is invalid ({_short(check)}).", sheet=sheet, row=row, column=header)


# -- ingest ---------------------------------------------------------------------------------------------
@dataclass
class IngestResult:
    status: str  # accepted | rejected
    unit: str | None
    obligation: str | None
    period: str | None
    errors: list[Problem]
    submission_id: int | None = None
    duplicate: bool = False
    late: bool | None = None

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "unit": self.unit,
            "obligation": self.obligation,
            "period": self.period,
            "errors": [e.as_dict() for e in self.errors],
            "submission_id": self.submission_id,
            "duplicate": self.duplicate,
            "late": self.late,
        }


def check_content(
    content: bytes,
    filename: str,
    *,
    catalogue: Catalogue | None = None,
    registry: UnitRegistry | None = None,
    expect_obligation: str | None = None,
    expect_cycle: str | None = None,
) -> tuple[ParsedReport, list[Problem], Cycle | None]:
    """Parse and validate a file's content against its obligation's form and cycle."""
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
    guess = FILENAME_RE.match(Path(filename).name)
    obligation_id = expect_obligation or (guess["obligation"] if guess else None)
    form = None
    if obligation_id and obligation_id in catalogue.obligations:
        form = get_form(catalogue.get(obligation_id).schema_name)
    parsed = read_report(content, filename, form)
    obligation_id = expect_obligation or parsed.meta.get("obligation") or obligation_id
    if form is None and obligation_id in catalogue.obligations:
        form = get_form(catalogue.get(obligation_id).schema_name)
        parsed = read_report(content, filename, form)
    if form is None:
        problems = list(parsed.problems)
        if not _unreadable(parsed) or not problems:
            problems.append(_problem("unknown_obligation", f"Không xác định được báo cáo '{_short(obligation_id or '')}'. Hãy ghi đúng 'Mã báo cáo' theo mẫu và đặt tên tệp theo quy ước.", f"Unknown report '{_short(obligation_id or '')}'. Fill 'Mã báo cáo' from the template and name the file by the convention.", sheet=META_SHEET if parsed.kind != "csv" else None, column="Mã báo cáo"))
        return parsed, problems, None
    if _unreadable(parsed):
        return parsed, list(parsed.problems), None
    meta_sheet = META_SHEET if parsed.kind != "csv" else None
    cycle = None
    period = expect_cycle or parsed.meta.get("period")
    if period:
        try:
            cycle = catalogue.cycle(obligation_id, period)
            if not _in_calendar(catalogue, obligation_id, cycle.key):
                cycle = None
                ob = catalogue.get(obligation_id)
                span = f"{ob.first_cycle or ''} - {ob.last_cycle or '...'}"
                parsed.problems.append(_problem("wrong_period", f"Báo cáo '{obligation_id}' không có kỳ '{_short(period)}' (các kỳ: {span}). Hãy ghi đúng kỳ đang báo cáo.", f"Report '{obligation_id}' has no period '{_short(period)}' (periods: {span}). Write the period you are reporting for.", sheet=meta_sheet, column="Kỳ báo cáo"))
        except BhxhError as exc:
            parsed.problems.append(_problem("wrong_period", f"{exc.message_vi} Hãy ghi đúng kỳ báo cáo (ví dụ 2019, 2019-H1, 2019-Q3).", f"{exc.message_en} Write the right period (e.g. 2019, 2019-H1, 2019-Q3).", sheet=meta_sheet, column="Kỳ báo cáo"))
        except Exception:  # a malformed key the calendar cannot even parse
            parsed.problems.append(_problem("wrong_period", f"Kỳ báo cáo '{_short(period)}' không hợp lệ. Hãy ghi kỳ dạng 2019, 2019-H1 hoặc 2019-Q3.", f"Period '{_short(period)}' is not valid. Write it as 2019, 2019-H1 or 2019-Q3.", sheet=meta_sheet, column="Kỳ báo cáo"))
    unit_id = parsed.meta.get("unit")
    unit_group, unit_exists = None, True
    if unit_id:
        if unit_id in registry:
            unit = registry.get(unit_id)
            unit_group = unit.group
            unit_exists = unit.exists_on(cycle.effective_last_day) if cycle else True
        else:
            parsed.problems.append(_problem("unknown_unit", f"Mã đơn vị '{_short(unit_id)}' không có trong danh mục đơn vị. Hãy ghi đúng mã đơn vị đã được cấp (xem sheet '{META_SHEET}' của tệp mẫu).", f"Unit code '{_short(unit_id)}' is not in the unit registry. Write the unit code you were given.", sheet=meta_sheet, column="Mã đơn vị"))
    problems = validate_report(parsed, form, obligation_id=obligation_id, cycle=cycle, unit_group=unit_group, unit_exists=unit_exists, filename=filename)
    ob = catalogue.obligations.get(obligation_id or "")
    plan_id = ob.plan if ob else None
    if plan_id and parsed.kind == "xlsx" and unit_id and unit_id in registry:
        from bhxh.task_reports import check_task_content, has_task_sheets

        if has_task_sheets(content):
            from bhxh.plans import load_plans

            day = cycle.effective_last_day if cycle else dt.date.today()
            parsed.tasks, task_problems = check_task_content(content, load_plans()[plan_id], unit_id, day, registry=registry)
            problems.extend(task_problems)
    return parsed, problems, cycle


def _in_calendar(catalogue: Catalogue, obligation_id: str, key: str) -> bool:
    """The cycle is one the obligation has (between its first and last cycle), not just a well-formed key."""
    try:
        return key in catalogue.get(obligation_id).cycle_keys(until_year=int(key[:4]) + 1)
    except Exception:  # a key the calendar cannot enumerate is not in it
        return False


def check_submission(
    content: bytes, filename: str, *, catalogue: Catalogue | None = None, registry: UnitRegistry | None = None
) -> tuple[ParsedReport, list[Problem], Cycle | None, dict[str, str | None]]:
    """What `ingest` decides before storing: the file checked against the cycle its name says it was sent for.

    Returns the parsed report, its problems, the cycle and the (obligation, period, unit) it is filed under
    (from the file name when it follows the convention, else from the file's own block).
    """
    guess = FILENAME_RE.match(Path(filename).name)
    parsed, problems, cycle = check_content(
        content, filename, catalogue=catalogue, registry=registry,
        expect_cycle=guess["period"] if guess else None,
    )
    # The file name says which cycle and unit the file was sent for; the file's own block is checked against it.
    meta = {**parsed.meta, **({k: guess[k] for k in ("obligation", "period", "unit")} if guess else {})}
    filed = {
        "obligation": (meta.get("obligation") or None) and meta["obligation"][:64],
        "period": (meta.get("period") or None) and meta["period"][:16],
        "unit": (meta.get("unit") or None) and meta["unit"][:64],
    }
    return parsed, problems, cycle, filed


def ingest(
    session: Session,
    content: bytes,
    filename: str,
    received_at: dt.datetime,
    *,
    catalogue: Catalogue | None = None,
    registry: UnitRegistry | None = None,
) -> IngestResult:
    """Keep a file and its validation outcome; the same file for the same unit and cycle is kept once."""
    parsed, problems, cycle, meta = check_submission(content, filename, catalogue=catalogue, registry=registry)
    digest = sha256(content)
    existing = session.scalar(
        select(Submission).where(
            Submission.sha256 == digest,
            _same(Submission.obligation_id, meta["obligation"]),
            _same(Submission.cycle_key, meta["period"]),
            _same(Submission.unit_id, meta["unit"]),
        )
    )
    if existing is not None:
        return IngestResult(existing.status, existing.unit_id, existing.obligation_id, existing.cycle_key,
                            [Problem(**e) for e in existing.errors or []], existing.id, duplicate=True, late=existing.late)
    if session.get(StoredFile, digest) is None:
        session.add(StoredFile(sha256=digest, size=len(content), content=content))
    status = "rejected" if problems else "accepted"
    late = cycle.is_late(received_at) if cycle else None
    data = None
    if not problems and parsed.frame is not None:
        data = {"rows": _jsonable(parsed.frame)}
        if parsed.tasks is not None:
            data["tasks"] = _jsonable(parsed.tasks)
    sub = Submission(
        obligation_id=meta["obligation"], cycle_key=meta["period"], unit_id=meta["unit"], sha256=digest,
        original_name=Path(filename).name[:255], size=len(content), received_at=received_at, status=status, late=late,
        data=data, errors=[p.as_dict() for p in problems] or None,
    )
    session.add(sub)
    session.flush()
    return IngestResult(status, sub.unit_id, sub.obligation_id, sub.cycle_key, problems, sub.id, late=late)


def _same(column, value):
    """Equality that also matches NULL (an unreadable file has no unit or period, and is still kept once)."""
    return column.is_(None) if value is None else column == value


def _jsonable(frame: pd.DataFrame) -> list[dict]:
    out = []
    for record in frame.to_dict(orient="records"):
        out.append({k: (None if (isinstance(v, float) and v != v) else v) for k, v in record.items()})
    return out

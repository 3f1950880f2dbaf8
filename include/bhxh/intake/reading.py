"""Reading a report file (XLSX or CSV) into its metadata block and its table; nothing here raises on bad input.

Both are read within the bounds of `bhxh.intake.limits`: an XLSX through `bhxh.intake.workbook` (never an
openpyxl sheet), a CSV after its lines, their length and their fields are counted. A clean CSV table whose
columns and cells `_frame` has nothing to say about is built column by column (`_csv_frame_fast`); as soon as
anything might be wrong, `_frame` runs and writes the messages.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from bhxh.calendar.forms import META_LABELS, META_SHEET, ReportForm
from bhxh.errors import BhxhError
from bhxh.intake import limits
from bhxh.intake.limits import HEADER_SEARCH_ROWS, MAX_FILE_BYTES
from bhxh.intake.numbers import fast_numbers, parse_numbers
from bhxh.intake.plausibility import ceiling_for
from bhxh.intake.problems import Problem, problem, short
from bhxh.intake.workbook import Workbook, WorkbookRefused

__all__ = ["MAX_FILE_BYTES", "ParsedReport", "form_info", "read_report", "too_large"]

DANGEROUS_PREFIXES = ("=", "+", "-", "@")
OLE2_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")  # encrypted .xlsx and legacy .xls are OLE2 compound files
# what str.splitlines() splits on (CRLF counts once): counted before a CSV text is split
_LINE_BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_RARE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_SPLIT_AT_ONCE = 256 * 1024  # characters


@dataclass
class ParsedReport:
    meta: dict[str, str] = field(default_factory=dict)
    frame: pd.DataFrame | None = None
    rows: list[int] = field(default_factory=list)  # spreadsheet row (CSV: line) number of each frame row
    problems: list[Problem] = field(default_factory=list)
    kind: str | None = None  # xlsx | csv
    formula_cells: set[tuple[int, str]] = field(default_factory=set)  # (row, column key) reported as formulas
    percent_cells: set[tuple[int, str]] = field(default_factory=set)  # (row, column key) of numbers written as "12%"
    tasks: pd.DataFrame | None = None  # the task sheets of a plan-based report (bhxh.intake.task_sheets), if any
    book: Workbook | None = field(default=None, repr=False)  # the XLSX, for the task sheets to be read from
    problem_count: int | None = None  # every problem found, when the list kept is capped (bhxh.intake.submission)


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


# -- reading --------------------------------------------------------------------------------------------
class _Reject(Exception):
    """The file cannot be read at all; carries the one problem that says why."""

    def __init__(self, problem: Problem, meta: dict[str, str] | None = None) -> None:
        super().__init__(problem.message_en)
        self.problem = problem
        self.meta = meta or {}  # the metadata block, when it could be read before the table failed


def read_report(content: bytes, filename: str, form: ReportForm | None = None) -> ParsedReport:
    """Read an XLSX or CSV report into its metadata and its table; never raises on bad input."""
    result = ParsedReport()
    if len(content) == 0:
        result.problems.append(problem("empty_file", "Tệp rỗng: không có nội dung. Hãy gửi lại tệp báo cáo đã lưu.", "The file is empty. Send the saved report file again."))
        return result
    if len(content) > MAX_FILE_BYTES:
        result.problems.append(too_large(len(content)))
        return result
    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".xlsx":
            result.kind = "xlsx"
            meta, header, header_row, body, body_rows, formulas, extra = _read_xlsx(content, form, result)
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
                problem(
                    "unsupported_type",
                    f"Định dạng '{short(suffix) or 'không có đuôi'}' không được nhận. Hãy gửi tệp .xlsx hoặc .csv theo mẫu.",
                    f"Format '{short(suffix) or 'no extension'}' is not accepted. Send an .xlsx or .csv file made from the template.",
                )
            )
    except _Reject as exc:
        result.problems.append(exc.problem)
        result.meta = exc.meta
        return result
    except BhxhError as exc:
        result.problems.append(problem(exc.code, exc.message_vi, exc.message_en))
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
            problem(
                "formula",
                "Ô chứa công thức thay vì giá trị. Hãy sao chép và dán dạng giá trị (Paste Special > Values).",
                "The cell holds a formula instead of a value. Copy it and paste it as values (Paste Special > Values).",
                sheet=form.sheet if form else None,
                row=row,
                column=name,
            )
        )
    result.frame, result.rows = _frame(header, header_row, body, body_rows, form, result.problems, sheet, result.percent_cells)
    return result


def too_large(size: int) -> Problem:
    """The refusal of a file over MAX_FILE_BYTES (read no further: its content is not kept)."""
    return problem(
        "file_too_large",
        f"Tệp lớn {limits.thousands_vi(size // 1024)} KB, vượt giới hạn {MAX_FILE_BYTES // 1024 // 1024} MB; tệp không được đọc và không được lưu. Hãy gửi riêng phần số liệu.",
        f"The file is {size // 1024:,} KB, over the {MAX_FILE_BYTES // 1024 // 1024} MB limit; it was neither read nor kept. Send the data appendix alone.",
    )


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


def _read_xlsx(content: bytes, form: ReportForm | None, result: ParsedReport):
    if not zipfile.is_zipfile(io.BytesIO(content)):
        if content[:8] == OLE2_MAGIC:
            raise _Reject(problem(
                "encrypted_or_xls",
                "Tệp được đặt mật khẩu hoặc là định dạng Excel cũ (.xls). Hãy bỏ mật khẩu (File > Info > Protect Workbook) và lưu lại dạng .xlsx.",
                "The workbook is password-protected or an old .xls file. Remove the password (File > Info > Protect Workbook) and save it as .xlsx.",
            ))
        raise _Reject(problem(
            "not_a_spreadsheet",
            "Tệp không phải bảng tính Excel (.xlsx) dù có đuôi .xlsx. Hãy mở bằng Excel và lưu lại theo mẫu.",
            "The file is not an Excel workbook although it ends in .xlsx. Open it in Excel and save it from the template.",
        ))
    meta: dict[str, str] = {}
    try:
        book = result.book = Workbook(content)
        sheet_name = form.sheet if form else None
        names = {unicodedata.normalize("NFC", n.strip()): n for n in book.sheetnames}
        if META_SHEET not in names:
            raise _Reject(problem(
                "missing_meta_sheet",
                f"Thiếu sheet '{META_SHEET}' (mã đơn vị, mã báo cáo, kỳ báo cáo). Hãy dùng tệp mẫu.",
                f"The sheet '{META_SHEET}' (unit, report and period codes) is missing. Use the template.",
                sheet=META_SHEET,
            ))
        info = book.sheet(names[META_SHEET], max_rows=limits.META_ROWS, width=2, lines=len(META_LABELS), label="dòng")
        for _number, row in info.rows:
            if not row or row[0] is None:
                continue
            label = _norm_header(row[0]).rstrip(":").strip()
            if label in META_LABELS and len(row) > 1 and not _blank(row[1]):
                meta[META_LABELS[label]] = _clean_meta(row[1])
        if sheet_name and sheet_name not in names:
            raise _Reject(problem(
                "missing_data_sheet",
                f"Thiếu sheet '{sheet_name}'. Hãy dùng tệp mẫu của báo cáo, không đổi tên sheet.",
                f"The sheet '{sheet_name}' is missing. Use the report's template and keep its sheet names.",
                sheet=sheet_name,
            ), meta)
        title = names[sheet_name] if sheet_name else (book.sheetnames[-1] if book.sheetnames else "")
        lines = len(form.indicators) if form else 0
        width = (len(form.columns) if form else 6) + limits.EXTRA_COLUMNS
        ws = book.sheet(title, max_rows=limits.row_budget(lines), width=width, lines=lines, label="chỉ tiêu")
    except WorkbookRefused as exc:
        raise _Reject(exc.problem, meta) from exc
    grid = ws.rows
    if ws.formulas:  # a formula is reported as such, never read as its text
        at = set(ws.formulas)
        grid = [(n, [None if (n, i) in at else v for i, v in enumerate(values)]) for n, values in grid]
    head = _header_index([v for _, v in grid], form)
    header_row = grid[head][0] if grid else 1
    header_merged = [ref for first, last, ref in ws.merged if first <= header_row <= last]
    if header_merged:
        raise _Reject(problem(
            "merged_header",
            f"Dòng tiêu đề có ô gộp ({', '.join(header_merged)}). Hãy bỏ gộp ô (Merge & Center > Unmerge), mỗi cột một tiêu đề.",
            f"The header row has merged cells ({', '.join(header_merged)}). Unmerge them (Merge & Center > Unmerge): one header per column.",
            sheet=ws.title, row=header_row, column=", ".join(header_merged),
        ), meta)
    extra = [
        problem(
            "merged_cells",
            f"Ô gộp {ref} trong bảng số liệu. Hãy bỏ gộp và nhập giá trị vào từng ô.",
            f"Merged cells {ref} inside the data table. Unmerge them and fill every cell.",
            sheet=ws.title, row=first, column=ref,
        )
        for first, _last, ref in ws.merged if first > header_row
    ]
    if ws.outside:
        refs = ", ".join(ws.outside_refs)
        extra.append(problem(
            "outside_table",
            f"Có {limits.thousands_vi(ws.outside)} ô có dữ liệu ở xa bên phải bảng của mẫu (ví dụ {refs}). Hãy xóa dữ liệu thừa ngoài bảng.",
            f"{ws.outside:,} cells hold data far to the right of the form's table (e.g. {refs}). Delete the extra data outside the table.",
            sheet=ws.title, column=ws.outside_refs[0],
        ))
    header = [_norm_header(v) for v in grid[head][1]] if grid else []
    formula_set = {(r, c) for r, c in ws.formulas if r > header_row}
    formula_rows = {r for r, _ in formula_set}
    body, body_rows = [], []
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
        raise _Reject(problem(
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
        raise _Reject(problem(
            "not_csv",
            "Tệp là bảng tính Excel nhưng có đuôi .csv. Hãy gửi với đuôi .xlsx hoặc lưu lại dạng CSV UTF-8.",
            "The file is an Excel workbook named .csv. Send it as .xlsx or save it as CSV UTF-8.",
        ))
    if b"\x00" in content and not utf16:
        raise _Reject(problem(
            "not_csv", "Tệp không phải CSV (có dữ liệu nhị phân). Hãy lưu lại dạng CSV UTF-8 từ tệp mẫu.",
            "The file is not CSV (it holds binary data). Save it as CSV UTF-8 from the template.",
        ))
    text = unicodedata.normalize("NFC", _decode_csv(content)).replace("\x00", "")
    lines = len(form.indicators) if form else 0
    budget = limits.csv_line_budget(lines)
    # Lines are counted before the text is split (ten million line breaks would make ten million strings); a
    # short text is split at once and its lines counted after (its list is small whatever it holds).
    breaks = text.count("\n") + text.count("\r")  # a CRLF counts twice here
    if len(text) > _SPLIT_AT_ONCE and _RARE_BREAKS.search(text):
        breaks += sum(text.count(ch) for ch in _LINE_BREAKS[2:])
    if breaks > 2 * budget:
        breaks -= text.count("\r\n")
    all_lines = text.splitlines() if breaks <= 2 * budget else []
    breaks = len(all_lines) or breaks
    if breaks > budget:
        raise _Reject(problem(
            "csv_too_many_lines",
            f"Quá nhiều dòng: tệp CSV có {limits.thousands_vi(breaks)} dòng trong khi biểu mẫu chỉ có {lines} chỉ tiêu (tối đa {limits.thousands_vi(budget)} dòng). Hãy chỉ giữ bảng số liệu theo mẫu.",
            f"Too many lines: the CSV file has {breaks:,} lines where the form has {lines} indicators (at most {budget:,}). Keep only the form's table.",
        ))
    meta, table_lines, line_numbers = {}, [], []
    may_be_long = len(text) > limits.MAX_CSV_LINE
    for number, line in enumerate(all_lines, start=1):
        if may_be_long and len(line) > limits.MAX_CSV_LINE:
            raise _Reject(problem(
                "csv_line_too_long",
                f"Dòng {number} của tệp CSV dài {limits.thousands_vi(len(line))} ký tự (tối đa {limits.thousands_vi(limits.MAX_CSV_LINE)}). Hãy lưu lại dạng CSV UTF-8 từ tệp mẫu.",
                f"Line {number} of the CSV file is {len(line):,} characters long (at most {limits.MAX_CSV_LINE:,}). Save it as CSV UTF-8 from the template.",
            ), meta)
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
        raise _Reject(problem("empty_table", "Tệp CSV không có bảng số liệu. Hãy dùng tệp mẫu.", "The CSV file has no data table. Use the template."), meta)
    delimiter = _sniff_delimiter(table_lines[0])
    try:
        if text.count(delimiter) <= limits.MAX_CSV_FIELDS * len(table_lines):  # few fields in all: read at once
            rows = list(csv.reader(table_lines, delimiter=delimiter))
            if max(map(len, rows), default=0) <= limits.MAX_CSV_FIELDS:
                wide = []
            else:
                wide = rows
                rows = []
        else:  # a line may hold thousands of fields: look at each before keeping it
            wide, rows = csv.reader(table_lines, delimiter=delimiter), []
        for number, row in zip(line_numbers, wide, strict=False):
            if len(row) > limits.MAX_CSV_FIELDS:
                if any(v.strip() for v in row[limits.MAX_CSV_FIELDS :]):
                    raise _Reject(problem(
                        "csv_too_many_fields",
                        f"Dòng {number} của tệp CSV có {limits.thousands_vi(len(row))} trường (tối đa {limits.MAX_CSV_FIELDS}) trong khi biểu mẫu có {len(form.columns) if form else 6} cột. Hãy xóa dữ liệu thừa ở bên phải bảng.",
                        f"Line {number} of the CSV file has {len(row):,} fields (at most {limits.MAX_CSV_FIELDS}) where the form has {len(form.columns) if form else 6} columns. Delete the extra data to the right of the table.",
                    ), meta)
                row = row[: limits.MAX_CSV_FIELDS]  # trailing empty fields (a spreadsheet's used range), dropped
            rows.append(row)
    except csv.Error as exc:
        raise _Reject(problem(
            "corrupt_csv", f"Tệp CSV không đọc được ({short(exc)}). Hãy lưu lại dạng CSV UTF-8 từ tệp mẫu.",
            f"The CSV file cannot be read ({short(exc)}). Save it as CSV UTF-8 from the template.",
        )) from exc
    head = _header_index(rows, form)
    header = [_norm_header(h) for h in rows[head]]
    body = rows[head + 1 :]
    return meta, header, line_numbers[head], body, line_numbers[head + 1 : head + 1 + len(body)]


def _frame(header, header_row, body, body_rows, form, problems, sheet, percent_cells=None):
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
        problems.append(problem("extra_column", f"Cột '{short(h)}' không có trong mẫu. Hãy xóa cột này.", f"Column '{short(h)}' is not in the template. Remove it.", sheet=sheet, row=header_row, column=short(h)))
    width = max((len(r) for r in body), default=0)
    for i in range(width):
        if i < len(header) and header[i]:
            continue
        if any(i < len(r) and not _blank(r[i]) for r in body):
            letter = _column_letter(i)
            problems.append(problem("extra_column", f"Cột {letter} không có tiêu đề nhưng có dữ liệu. Hãy xóa dữ liệu thừa hoặc dùng đúng mẫu.", f"Column {letter} has data but no header. Remove the extra data or use the template.", sheet=sheet, row=header_row, column=letter))
    for h in missing:
        problems.append(problem("missing_column", f"Thiếu cột '{h}'. Hãy dùng đúng tệp mẫu, không xóa hay đổi tên cột.", f"Column '{h}' is missing. Use the template without deleting or renaming columns.", sheet=sheet, row=header_row, column=h))
    for h in dup:
        problems.append(problem("duplicate_column", f"Cột '{short(h)}' xuất hiện nhiều lần. Hãy giữ một cột.", f"Column '{short(h)}' appears more than once. Keep one.", sheet=sheet, row=header_row, column=short(h)))
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
            if percent_cells is not None:  # "12%" (or a cell in a percentage format): fine for a rate only
                marked = np.fromiter((isinstance(v, str) and v.rstrip().endswith("%") for v in col), dtype=bool, count=len(col))
                percent_cells.update((int(row_numbers[i]), c.key) for i in np.flatnonzero(marked & ~bad.to_numpy()))
            for i in np.flatnonzero(bad.to_numpy()):
                value = col.iat[i]
                problems.append(problem("not_a_number", f"Giá trị '{short(value)}' không phải là số. Hãy nhập số, ví dụ 1.234,5 hoặc 1234.5.", f"'{short(value)}' is not a number. Enter a number, e.g. 1.234,5 or 1234.5.", sheet=sheet, row=int(row_numbers[i]), column=c.header))
            frame[c.key] = parsed.to_numpy()
        else:
            text = col.map(lambda v: None if v is None else str(v).strip(), na_action="ignore").astype(object)
            frame[c.key] = text
            risky = text.str.startswith(DANGEROUS_PREFIXES, na=False).astype(bool).to_numpy()
            for i in np.flatnonzero(risky):
                value = text.iat[i]
                problems.append(problem("formula_text", f"Ô bắt đầu bằng ký tự '{value[0]}' nên có thể bị hiểu là công thức. Hãy bỏ ký tự này (hoặc viết lại, ví dụ 'Giảm 5' thay cho '-5').", f"The cell starts with '{value[0]}' and could act as a formula. Remove that character (or reword, e.g. 'Down 5' instead of '-5').", sheet=sheet, row=int(row_numbers[i]), column=c.header))
    return frame, body_rows


_RISKY_CHARS = tuple(DANGEROUS_PREFIXES)


@dataclass(frozen=True)
class _FormInfo:
    """What validation looks up in a form, computed once per form."""

    by_header: dict
    index: dict  # indicator code -> position in form.indicators
    is_percent: np.ndarray
    is_count: np.ndarray
    measures: tuple  # measure of each indicator, by position
    ceiling: np.ndarray  # the largest plausible value of each indicator (100 for a rate; bhxh.intake.plausibility)


_FORM_INFO: dict[int, tuple[ReportForm, _FormInfo]] = {}


def form_info(form: ReportForm) -> _FormInfo:
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
        ceiling=np.array([_ceiling(ind) for ind in form.indicators], dtype=float),
    )
    if len(_FORM_INFO) >= 64:
        _FORM_INFO.clear()
    _FORM_INFO[id(form)] = (form, info)  # the form is kept alive with its entry, so its id is not reused
    return info


def _ceiling(ind) -> float:
    if ind.kind == "percent":
        return 100.0
    found = ceiling_for(ind.kind, ind.measure)
    return found.value if found else np.inf


def _csv_frame_fast(header: list[str], rows: list[list[str]], body_rows: list[int], form: ReportForm | None):
    """The frame and row numbers `_frame` gives for a CSV table that `_frame` has nothing to say about, built
    column by column; None when the table has any problem (or anything unusual), for `_frame` to handle."""
    if form is None or not rows:
        return None
    width = len(header)
    by_header = form_info(form).by_header
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
            values = np.full(n, np.nan) if raw is None else fast_numbers(raw, n)
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

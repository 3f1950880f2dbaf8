"""Intake of units' report files ("tiếp nhận báo cáo"): read an XLSX or CSV report, validate it against its
report form and the cycle, and keep every version in the store with its checksum.

Every problem a person can fix becomes a `Problem` naming the sheet, row and column, in Vietnamese and
English; nothing here raises on bad input.
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
from pathlib import Path

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
        parts = []
        if self.sheet:
            parts.append(f"Sheet '{self.sheet}'")
        if self.row:
            parts.append(f"dòng {self.row}")
        if self.column:
            parts.append(f"cột '{self.column}'")
        return ", ".join(parts)


@dataclass
class ParsedReport:
    meta: dict[str, str] = field(default_factory=dict)
    frame: pd.DataFrame | None = None
    rows: list[int] = field(default_factory=list)  # spreadsheet row number of each frame row
    problems: list[Problem] = field(default_factory=list)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# -- numbers --------------------------------------------------------------------------------------------
_VN_NUMBER = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$|^[+-]?\d+(,\d+)?$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")


def parse_number(value: object) -> float | None:
    """A number as a Vietnamese user writes it ("1.234,5", "12,5", "1234") or as Excel stores it.

    Returns None for an empty cell; raises ValueError for text that is not a number.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        if value != value:  # NaN from pandas
            return None
        return float(value)
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if text == "":
        return None
    if _VN_NUMBER.match(text):
        return float(text.replace(".", "").replace(",", "."))
    if _DOT_DECIMAL.match(text):
        return float(text)
    raise ValueError(text)


# -- reading --------------------------------------------------------------------------------------------
def _problem(code: str, vi: str, en: str, **where) -> Problem:
    return Problem(code, vi, en, **where)


def read_report(content: bytes, filename: str, form: ReportForm | None = None) -> ParsedReport:
    """Read an XLSX or CSV report into its metadata and its table; never raises on bad input."""
    result = ParsedReport()
    if len(content) == 0:
        result.problems.append(_problem("empty_file", "Tệp rỗng: không có nội dung.", "The file is empty."))
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
            raw_meta, header, body, body_rows, formula_cells = _read_xlsx(content, form)
        elif suffix == ".csv":
            raw_meta, header, body, body_rows = _read_csv(content)
            formula_cells = []
        else:
            result.problems.append(
                _problem(
                    "unsupported_type",
                    f"Định dạng '{suffix or 'không có đuôi'}' không được nhận. Hãy gửi tệp .xlsx hoặc .csv theo mẫu.",
                    f"Format '{suffix or 'no extension'}' is not accepted. Send an .xlsx or .csv file made from the template.",
                )
            )
            return result
    except BhxhError as exc:
        result.problems.append(_problem(exc.code, exc.message_vi, exc.message_en))
        return result
    result.meta = raw_meta
    for sheet, row, col in formula_cells:
        result.problems.append(
            _problem(
                "formula",
                "Ô chứa công thức thay vì giá trị. Hãy sao chép và dán dạng giá trị (Paste Values).",
                "The cell holds a formula instead of a value. Copy it and paste as values.",
                sheet=sheet,
                row=row,
                column=col,
            )
        )
    result.frame, result.rows = _frame(header, body, body_rows, form, result.problems)
    return result


def _read_xlsx(content: bytes, form: ReportForm | None):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not zipfile.is_zipfile(io.BytesIO(content)):
        if content[:8] == bytes.fromhex("d0cf11e0a1b11ae1"):
            raise BhxhError(
                "Tệp được đặt mật khẩu hoặc là định dạng Excel cũ (.xls). Hãy bỏ mật khẩu và lưu lại dạng .xlsx.",
                "The workbook is password-protected or an old .xls file. Remove the password and save as .xlsx.",
                code="encrypted_or_xls",
            )
        raise BhxhError(
            "Tệp không phải bảng tính Excel (.xlsx) dù có đuôi .xlsx. Hãy mở bằng Excel và lưu lại theo mẫu.",
            "The file is not an Excel workbook although it ends in .xlsx. Open it in Excel and save it from the template.",
            code="not_a_spreadsheet",
        )
    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), data_only=False, read_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise BhxhError(
            f"Tệp Excel bị hỏng, không mở được ({type(exc).__name__}). Hãy lưu lại và gửi lại.",
            f"The workbook is corrupt and cannot be opened ({type(exc).__name__}). Save it again and resend.",
            code="corrupt_workbook",
        ) from exc
    sheet_name = form.sheet if form else None
    if META_SHEET not in wb.sheetnames:
        raise BhxhError(
            f"Thiếu sheet '{META_SHEET}' (mã đơn vị, mã báo cáo, kỳ báo cáo). Hãy dùng tệp mẫu.",
            f"The sheet '{META_SHEET}' (unit, report and period codes) is missing. Use the template.",
            code="missing_meta_sheet",
        )
    if sheet_name and sheet_name not in wb.sheetnames:
        raise BhxhError(
            f"Thiếu sheet '{sheet_name}'. Hãy dùng tệp mẫu của báo cáo.",
            f"The sheet '{sheet_name}' is missing. Use the report's template.",
            code="missing_data_sheet",
        )
    meta = {}
    for row in wb[META_SHEET].iter_rows(min_row=1, max_col=2, values_only=True):
        if row and row[0] in META_LABELS and row[1] is not None:
            meta[META_LABELS[row[0]]] = str(row[1]).strip()
    ws = wb[sheet_name] if sheet_name else wb.worksheets[-1]
    header_merged = [str(r) for r in ws.merged_cells.ranges if r.min_row == 1]
    if header_merged:
        raise BhxhError(
            f"Dòng tiêu đề sheet '{ws.title}' có ô gộp ({', '.join(header_merged)}). Hãy bỏ gộp ô, mỗi cột một tiêu đề.",
            f"The header row of sheet '{ws.title}' has merged cells ({', '.join(header_merged)}). Unmerge them: one header per column.",
            code="merged_header",
        )
    header, body, body_rows, formulas = None, [], [], []
    for cells in ws.iter_rows(min_row=1):
        values = [c.value for c in cells]
        if header is None:
            header = [str(v).strip() if v is not None else "" for v in values]
            continue
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        for c in cells:
            if c.data_type == "f":
                formulas.append((ws.title, c.row, header[c.column - 1] if c.column - 1 < len(header) else c.column_letter))
        body.append(values)
        body_rows.append(cells[0].row)
    return meta, header or [], body, body_rows, formulas


def _decode_csv(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    if len(content) >= 2 and (content[0] == 0 or content[1] == 0):
        return content.decode("utf-16-be" if content[0] == 0 else "utf-16-le")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1258")
    except UnicodeDecodeError as exc:
        raise BhxhError(
            "Không nhận ra bảng mã của tệp CSV. Hãy lưu lại dạng 'CSV UTF-8'.",
            "The CSV file's encoding is not recognised. Save it as 'CSV UTF-8'.",
            code="csv_encoding",
        ) from exc


def _read_csv(content: bytes):
    """CSV form: metadata lines '# Mã đơn vị: ...' first, then the table with its header."""
    if b"\x00" in content and not content.startswith((b"\xff\xfe", b"\xfe\xff")) and content[:2].count(0) == 0:
        raise BhxhError(
            "Tệp không phải CSV (có dữ liệu nhị phân).", "The file is not CSV (it holds binary data).", code="not_csv"
        )
    text = unicodedata.normalize("NFC", _decode_csv(content))
    meta, table_lines, line_numbers = {}, [], []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            label, _, value = stripped.lstrip("#").partition(":")
            if label.strip() in META_LABELS:
                meta[META_LABELS[label.strip()]] = value.strip().strip(",;").strip()
            continue
        if not stripped.strip(",;"):
            continue
        table_lines.append(line)
        line_numbers.append(number)
    if not table_lines:
        raise BhxhError("Tệp CSV không có bảng số liệu.", "The CSV file has no data table.", code="empty_table")
    try:
        dialect = csv.Sniffer().sniff(table_lines[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(table_lines, delimiter=delimiter))
    header = [h.strip() for h in rows[0]]
    body = [[v if v.strip() != "" else None for v in r] for r in rows[1:]]
    return meta, header, body, line_numbers[1:]


def _frame(header, body, body_rows, form, problems):
    if form is None:
        return pd.DataFrame(body, columns=header[: len(body[0])] if body else header), body_rows
    by_header = {c.header: c for c in form.columns}
    sheet = form.sheet
    unknown = [h for h in header if h and h not in by_header]
    missing = [c.header for c in form.columns if c.required and c.header not in header]
    dup = sorted({h for h in header if h and header.count(h) > 1})
    for h in unknown:
        problems.append(_problem("extra_column", f"Cột '{h}' không có trong mẫu. Hãy xóa cột này.", f"Column '{h}' is not in the template. Remove it.", sheet=sheet, row=1, column=h))
    for h in missing:
        problems.append(_problem("missing_column", f"Thiếu cột '{h}'. Hãy dùng đúng tệp mẫu.", f"Column '{h}' is missing. Use the template.", sheet=sheet, row=1, column=h))
    for h in dup:
        problems.append(_problem("duplicate_column", f"Cột '{h}' xuất hiện nhiều lần.", f"Column '{h}' appears more than once.", sheet=sheet, row=1, column=h))
    if missing or dup:
        return None, []
    positions = {by_header[h].key: i for i, h in enumerate(header) if h in by_header}
    data = {key: [r[i] if i < len(r) else None for r in body] for key, i in positions.items()}
    for c in form.columns:
        data.setdefault(c.key, [None] * len(body))
    frame = pd.DataFrame(data, dtype=object)
    for c in form.columns:
        col = frame[c.key]
        if c.type == "number":
            parsed = []
            for value, row in zip(col, body_rows, strict=True):
                try:
                    parsed.append(parse_number(value))
                except ValueError:
                    parsed.append(None)
                    problems.append(_problem("not_a_number", f"Giá trị '{value}' không phải là số. Hãy nhập số, ví dụ 1.234,5.", f"'{value}' is not a number. Enter a number, e.g. 1.234,5 or 1234.5.", sheet=sheet, row=row, column=c.header))
            frame[c.key] = pd.Series(parsed, dtype="float64")
        else:
            frame[c.key] = col.map(lambda v: None if v is None else str(v).strip())
            for value, row in zip(frame[c.key], body_rows, strict=True):
                if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
                    problems.append(_problem("formula_text", f"Ô bắt đầu bằng ký tự '{value[0]}' (có thể bị hiểu là công thức). Hãy bỏ ký tự này.", f"The cell starts with '{value[0]}' and could act as a formula. Remove that character.", sheet=sheet, row=row, column=c.header))
    return frame, body_rows


# -- validation -----------------------------------------------------------------------------------------
def _pandera_schema(form: ReportForm) -> pa.DataFrameSchema:
    codes = form.indicator_codes
    return pa.DataFrameSchema(
        {
            "code": pa.Column(str, pa.Check.isin(codes), nullable=False, unique=True, coerce=False),
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
    for label, key in META_LABELS.items():
        if not meta.get(key):
            problems.append(_problem("missing_meta", f"Thiếu '{label}' trong phần thông tin của tệp.", f"'{label}' is missing from the file's information block.", sheet=META_SHEET, column=label))
    if filename:
        match = FILENAME_RE.match(Path(filename).name)
        if not match:
            problems.append(_problem("filename", "Tên tệp không đúng quy ước <mã báo cáo>__<kỳ>__<mã đơn vị>.xlsx.", "The file name does not follow <report>__<period>__<unit>.xlsx.", column="tên tệp"))
        else:
            for key, label in (("obligation", "Mã báo cáo"), ("period", "Kỳ báo cáo"), ("unit", "Mã đơn vị")):
                if meta.get(key) and match[key] != meta[key]:
                    problems.append(_problem("filename_mismatch", f"Tên tệp ghi {label} '{match[key]}' nhưng trong tệp ghi '{meta[key]}'.", f"The file name says {label} '{match[key]}' but the file says '{meta[key]}'.", sheet=META_SHEET, column=label))
    if obligation_id and meta.get("obligation") and meta["obligation"] != obligation_id:
        problems.append(_problem("wrong_obligation", f"Tệp là báo cáo '{meta['obligation']}', không phải '{obligation_id}'.", f"The file is report '{meta['obligation']}', not '{obligation_id}'.", sheet=META_SHEET, column="Mã báo cáo"))
    if cycle and meta.get("period") and meta["period"] != cycle.key:
        problems.append(_problem("wrong_period", f"Kỳ báo cáo trong tệp là '{meta['period']}', kỳ đang tổng hợp là '{cycle.key}' ({cycle.period_start:%d/%m/%Y} - {cycle.period_end:%d/%m/%Y}).", f"The file's period is '{meta['period']}', the cycle is '{cycle.key}'.", sheet=META_SHEET, column="Kỳ báo cáo"))
    if not unit_exists:
        problems.append(_problem("unit_not_existing", f"Đơn vị '{meta.get('unit')}' không tồn tại vào ngày hạn nộp của kỳ này.", f"Unit '{meta.get('unit')}' does not exist on this cycle's deadline.", sheet=META_SHEET, column="Mã đơn vị"))
    frame = parsed.frame
    if frame is None:
        return problems
    if frame.empty:
        problems.append(_problem("no_rows", "Bảng số liệu không có dòng nào.", "The data table has no rows.", sheet=form.sheet))
        return problems
    rows = parsed.rows
    sheet = form.sheet
    try:
        _pandera_schema(form).validate(frame[["code", "actual", "plan"]], lazy=True)
    except pa.errors.SchemaErrors as exc:
        for case in exc.failure_cases.itertuples():
            column = case.column if isinstance(case.column, str) else None
            index = case.index if case.index == case.index else None
            row = rows[int(index)] if index is not None and int(index) < len(rows) else None
            header = form.header_of(column) if column in {c.key for c in form.columns} else column
            problems.append(_schema_problem(str(case.check), case.failure_case, sheet, row, header))
    # duplicated rows (whole row repeated) are reported once per repeat
    dup_mask = frame.duplicated(keep="first") & frame["code"].notna()
    for idx in frame.index[dup_mask]:
        problems.append(_problem("duplicate_row", "Dòng này trùng hoàn toàn với một dòng phía trên. Hãy xóa dòng trùng.", "This row repeats a row above. Delete the duplicate.", sheet=sheet, row=rows[idx]))
    kinds = {i.code: i for i in form.indicators}
    known = frame["code"].isin(list(kinds))
    percent = frame["code"].map(lambda c: kinds[c].kind == "percent" if c in kinds else False).astype(bool)
    over = percent & (frame["actual"] > 100)
    for idx in frame.index[over]:
        problems.append(_problem("percent_range", f"Tỷ lệ {frame.at[idx, 'actual']:g}% vượt quá 100%. Hãy nhập tỷ lệ từ 0 đến 100.", f"Percentage {frame.at[idx, 'actual']:g}% is over 100. Enter 0 to 100.", sheet=sheet, row=rows[idx], column=form.header_of("actual")))
    counts = frame["code"].map(lambda c: kinds[c].kind == "count" if c in kinds else False).astype(bool)
    fractional = counts & frame["actual"].notna() & (frame["actual"] % 1 != 0)
    for idx in frame.index[fractional]:
        problems.append(_problem("not_integer", f"Số người/nhiệm vụ phải là số nguyên, không phải {frame.at[idx, 'actual']:g}.", f"A count must be a whole number, not {frame.at[idx, 'actual']:g}.", sheet=sheet, row=rows[idx], column=form.header_of("actual")))
    measures = frame["code"].map(lambda c: kinds[c].measure if c in kinds else None)
    wrong_measure = known & frame["measure"].notna() & (frame["measure"].str.lower() != measures.str.lower())
    for idx in frame.index[wrong_measure]:
        problems.append(_problem("measure", f"Đơn vị tính phải là '{measures[idx]}', không phải '{frame.at[idx, 'measure']}'.", f"The unit of measure must be '{measures[idx]}', not '{frame.at[idx, 'measure']}'.", sheet=sheet, row=rows[idx], column=form.header_of("measure")))
    present = set(frame["code"].dropna())
    for ind in form.indicators:
        needed = unit_group in ind.required_for if unit_group else bool(ind.required_for)
        if ind.code not in present:
            if needed:
                problems.append(_problem("missing_indicator", f"Thiếu chỉ tiêu {ind.code} ({ind.name}). Hãy thêm dòng này theo mẫu.", f"Indicator {ind.code} ({ind.name}) is missing. Add its row from the template.", sheet=sheet, column=form.header_of("code")))
            continue
        if needed:
            idx = frame.index[frame["code"] == ind.code][0]
            if pd.isna(frame.at[idx, "actual"]):
                problems.append(_problem("required_value", f"Chưa nhập số thực hiện của chỉ tiêu {ind.code} ({ind.name}).", f"No actual value for indicator {ind.code} ({ind.name}).", sheet=sheet, row=rows[idx], column=form.header_of("actual")))
    values = frame.drop_duplicates("code").set_index("code")["actual"]
    for rule in form.rules:
        left, right = values.get(rule.left), values.get(rule.right)
        if left is not None and right is not None and pd.notna(left) and pd.notna(right) and left > right:
            idx = frame.index[frame["code"] == rule.left][0]
            problems.append(_problem(rule.code, f"{rule.message_vi} ({left:g} > {right:g}).", f"{rule.message_en} ({left:g} > {right:g}).", sheet=sheet, row=rows[idx], column=form.header_of("actual")))
    for rule in form.sum_rules:
        left = sum(float(values.get(c)) for c in rule.left if pd.notna(values.get(c)))
        right = sum(float(values.get(c)) for c in rule.right if pd.notna(values.get(c)))
        if all(c in values.index for c in rule.left + rule.right) and left != right:
            problems.append(_problem(rule.code, f"{rule.message_vi}: {left:g} ≠ {right:g}.", f"{rule.message_en}: {left:g} != {right:g}.", sheet=sheet, column=form.header_of("actual")))
    return problems


def _schema_problem(check: str, value, sheet, row, header) -> Problem:
    if check.startswith("isin"):
        return _problem("unknown_indicator", f"Mã chỉ tiêu '{value}' không có trong mẫu.", f"Indicator code '{value}' is not in the form.", sheet=sheet, row=row, column=header)
    if check.startswith("greater_than_or_equal_to"):
        return _problem("negative", f"Giá trị {value} âm. Hãy nhập số từ 0 trở lên.", f"Value {value} is negative. Enter 0 or more.", sheet=sheet, row=row, column=header)
    if check == "field_uniqueness":
        return _problem("duplicate_indicator", f"Mã chỉ tiêu '{value}' xuất hiện nhiều lần.", f"Indicator code '{value}' appears more than once.", sheet=sheet, row=row, column=header)
    if check == "not_nullable":
        return _problem("required_value", "Ô bắt buộc đang để trống.", "A required cell is empty.", sheet=sheet, row=row, column=header)
    return _problem("invalid_value", f"Giá trị '{value}' không hợp lệ ({check}).", f"Value '{value}' is invalid ({check}).", sheet=sheet, row=row, column=header)


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
        problems = parsed.problems or []
        problems.append(_problem("unknown_obligation", f"Không xác định được báo cáo '{obligation_id}'. Hãy ghi đúng 'Mã báo cáo' theo mẫu.", f"Unknown report '{obligation_id}'. Fill 'Mã báo cáo' from the template.", sheet=META_SHEET, column="Mã báo cáo"))
        return parsed, problems, None
    cycle = None
    period = expect_cycle or parsed.meta.get("period")
    if period:
        try:
            cycle = catalogue.cycle(obligation_id, period)
        except BhxhError as exc:
            parsed.problems.append(_problem("wrong_period", exc.message_vi, exc.message_en, sheet=META_SHEET, column="Kỳ báo cáo"))
    unit_id = parsed.meta.get("unit")
    unit_group, unit_exists = None, True
    if unit_id:
        if unit_id in registry:
            unit = registry.get(unit_id)
            unit_group = unit.group
            unit_exists = unit.exists_on(cycle.effective_last_day) if cycle else True
        else:
            parsed.problems.append(_problem("unknown_unit", f"Mã đơn vị '{unit_id}' không có trong danh mục đơn vị.", f"Unit code '{unit_id}' is not in the unit registry.", sheet=META_SHEET, column="Mã đơn vị"))
    problems = validate_report(parsed, form, obligation_id=obligation_id, cycle=cycle, unit_group=unit_group, unit_exists=unit_exists, filename=filename)
    return parsed, problems, cycle


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
    guess = FILENAME_RE.match(Path(filename).name)
    parsed, problems, cycle = check_content(
        content, filename, catalogue=catalogue, registry=registry,
        expect_cycle=guess["period"] if guess else None,
    )
    # The file name says which cycle and unit the file was sent for; the file's own block is checked against it.
    meta = {**parsed.meta, **({k: guess[k] for k in ("obligation", "period", "unit")} if guess else {})}
    digest = sha256(content)
    existing = session.scalar(
        select(Submission).where(
            Submission.sha256 == digest,
            Submission.obligation_id == meta.get("obligation"),
            Submission.cycle_key == meta.get("period"),
            Submission.unit_id == meta.get("unit"),
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
    sub = Submission(
        obligation_id=meta.get("obligation"), cycle_key=meta.get("period"), unit_id=meta.get("unit"), sha256=digest,
        original_name=Path(filename).name[:255], size=len(content), received_at=received_at, status=status, late=late,
        data=data, errors=[p.as_dict() for p in problems] or None,
    )
    session.add(sub)
    session.flush()
    return IngestResult(status, sub.unit_id, sub.obligation_id, sub.cycle_key, problems, sub.id, late=late)


def _jsonable(frame: pd.DataFrame) -> list[dict]:
    out = []
    for record in frame.to_dict(orient="records"):
        out.append({k: (None if (isinstance(v, float) and v != v) else v) for k, v in record.items()})
    return out

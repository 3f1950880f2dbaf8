"""Report files as a unit fills them: the XLSX workbook (sheet "Thông tin" + the form's sheet) and its CSV
equivalent. Used for blank templates and for the demo's sample submissions."""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

from bhxh.calendar.forms import META_LABELS, META_SHEET, ReportForm

INSTRUCTIONS_SHEET = "Hướng dẫn"


def _meta_rows(meta: dict[str, str]) -> list[tuple[str, str]]:
    return [(label, meta.get(key, "")) for label, key in META_LABELS.items()]


def write_report_xlsx(
    path: Path, form: ReportForm, meta: dict[str, str], rows: list[list], *, unit_name: str = "", tasks: tuple | None = None
) -> Path:
    """`tasks`: (plan, unit id, day) for a plan-based obligation: the workbook also gets the unit's task sheets."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    info = wb.active
    info.title = META_SHEET
    for label, value in _meta_rows(meta):
        info.append([label, value])
    info.append(["Tên đơn vị", unit_name])
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 40
    ws = wb.create_sheet(form.sheet)
    ws.append([c.header for c in form.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    if tasks is not None:
        from bhxh.intake.task_sheets import write_task_sheets

        plan, unit_id, day = tasks
        write_task_sheets(wb, plan, unit_id, day)
    help_ws = wb.create_sheet(INSTRUCTIONS_SHEET)
    for line in instructions(form):
        help_ws.append([line])
    help_ws.column_dimensions["A"].width = 120
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_report_csv(path: Path, form: ReportForm, meta: dict[str, str], rows: list[list], encoding: str = "utf-8-sig") -> Path:
    buf = io.StringIO()
    for label, value in _meta_rows(meta):
        buf.write(f"# {label}: {value}\n")
    writer = csv.writer(buf, delimiter=";", lineterminator="\n")
    writer.writerow([c.header for c in form.columns])
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    text = buf.getvalue()
    path.write_bytes(encode_cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    return path


def form_rows(form: ReportForm, values: dict[str, float | None] | None = None) -> list[list]:
    values = values or {}
    return [[i.code, i.name, i.measure, None, values.get(i.code), None] for i in form.indicators]


def instructions(form: ReportForm) -> list[str]:
    return [
        f"HƯỚNG DẪN LẬP BÁO CÁO: {form.title_vi}",
        f"1. Sheet '{META_SHEET}': ghi Mã đơn vị, Mã báo cáo, Kỳ báo cáo (ví dụ 2019, 2019-H1, 2019-Q3) đúng như tên tệp.",
        "2. Tên tệp: <mã báo cáo>__<kỳ>__<mã đơn vị>.xlsx, ví dụ nq51_action_programme__2019__bhxh_tinh_yen_bai.xlsx.",
        f"3. Sheet '{form.sheet}': mỗi chỉ tiêu một dòng; không thêm, bớt hoặc gộp cột; chỉ nhập giá trị, không nhập công thức.",
        "4. Số viết theo kiểu Việt Nam (1.234,5) hoặc để Excel định dạng; tỷ lệ (%) từ 0 đến 100; số người là số nguyên.",
        "5. Không bắt đầu ô chữ bằng các ký tự =, +, -, @.",
        "Instructions (English): fill the 'Thông tin' sheet, one row per indicator, values only, no formulas, percentages 0-100.",
    ]


_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def encode_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows software writes it: precomposed vowels, separate tone marks."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
        tones = "".join(c for c in parts if c in _TONE_MARKS)
        out += (base + tones).encode("cp1258")
    return bytes(out)

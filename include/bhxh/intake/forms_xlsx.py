"""Report files as a unit fills them: the XLSX workbook (sheets "Hướng dẫn", "Thông tin", the form's sheet, for a
plan-based report the unit's task sheets, and "Danh mục đơn vị") and its CSV equivalent. Used for the templates
units fill in (`make templates`) and for the demo's sample submissions.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

from bhxh.calendar.forms import META_LABELS, META_SHEET, ReportForm
from bhxh.templating import render

INSTRUCTIONS_SHEET = "Hướng dẫn"
UNITS_SHEET = "Danh mục đơn vị"
FILL_COLOUR = "FFF2CC"  # the cells a unit fills in
MAX_NUMBER = 10**15


def _meta_rows(meta: dict[str, str]) -> list[tuple[str, str]]:
    return [(label, meta.get(key, "")) for label, key in META_LABELS.items()]


def _width(texts: Sequence, minimum: int = 8, maximum: int = 60) -> float:
    longest = max((len(str(t)) for t in texts if t is not None), default=0)
    return float(min(max(longest + 2, minimum), maximum))


def write_report_xlsx(
    path: Path,
    form: ReportForm,
    meta: dict[str, str],
    rows: list[list],
    *,
    unit_name: str = "",
    tasks: tuple | None = None,
    units: Sequence[tuple[str, str, str]] | None = None,
    guide: Mapping | None = None,
) -> Path:
    """The workbook of one report. `tasks`: (plan, unit id, day) for a plan-based obligation, whose unit's task
    sheets it then carries; `units`: (id, name, group) rows for the sheet listing the unit codes; `guide`: more
    context for the instructions (templates/forms/instructions.txt.j2: obligation, cycle, recipient, ...)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    bold, wrap, fill = Font(bold=True), Alignment(wrap_text=True, vertical="top"), PatternFill("solid", fgColor=FILL_COLOUR)
    wb = Workbook()
    help_ws = wb.active
    help_ws.title = INSTRUCTIONS_SHEET
    info = wb.create_sheet(META_SHEET)
    for label, value in _meta_rows(meta):
        info.append([label, value])
    info.append(["Tên đơn vị", unit_name])
    for row in info.iter_rows(min_row=1, max_row=len(META_LABELS)):
        row[0].font = bold
        row[1].fill = fill
        row[1].number_format = "@"  # a period typed as 2019 stays the text "2019"
    info["A4"].font = bold
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = _width([unit_name, *meta.values()], 40, 80)
    ws = wb.create_sheet(form.sheet)
    ws.append([c.header for c in form.columns])
    for cell in ws[1]:
        cell.font, cell.alignment = bold, Alignment(wrap_text=True, vertical="center", horizontal="center")
    for row in rows:
        ws.append(row)
    keys = [c.key for c in form.columns]
    for index, column in enumerate(form.columns):
        letter = ws.cell(1, index + 1).column_letter
        values = [column.header, *(r[index] for r in rows if index < len(r))]
        ws.column_dimensions[letter].width = _width(values, 12 if column.type == "number" else 10)
        if column.type == "number" and rows:
            for (cell,) in ws.iter_rows(min_row=2, max_row=len(rows) + 1, min_col=index + 1, max_col=index + 1):
                cell.fill = fill
            dv = DataValidation(type="decimal", operator="between", formula1="0", formula2=str(MAX_NUMBER), allow_blank=True)
            dv.error = "Hãy nhập một số không âm (ví dụ 1234 hoặc 95,5), không nhập chữ hay công thức."
            dv.errorTitle = "Giá trị không hợp lệ"
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{len(rows) + 1}")
    if "note" in keys:
        letter = ws.cell(1, keys.index("note") + 1).column_letter
        ws.column_dimensions[letter].width = 30
    ws.freeze_panes = "A2"
    if tasks is not None:
        from bhxh.intake.task_sheets import write_task_sheets

        plan, unit_id, day = tasks
        write_task_sheets(wb, plan, unit_id, day)
    if units:
        units_ws = wb.create_sheet(UNITS_SHEET)
        units_ws.append(["Mã đơn vị", "Tên đơn vị", "Nhóm"])
        for cell in units_ws[1]:
            cell.font = bold
        for row in units:
            units_ws.append(list(row))
        for index, width in enumerate((_width([u[0] for u in units], 14), _width([u[1] for u in units], 20, 70), 14)):
            units_ws.column_dimensions["ABC"[index]].width = width
        units_ws.freeze_panes = "A2"
        units_ws.auto_filter.ref = f"A1:C{len(units) + 1}"
    context = {"form": form, "meta": meta, "unit_name": unit_name, "plan_based": tasks is not None,
               "units_sheet": UNITS_SHEET if units else None, "meta_sheet": META_SHEET, **(guide or {})}
    for line in instructions(form, context):
        help_ws.append([line])
    help_ws.column_dimensions["A"].width = 110
    for (cell,) in help_ws.iter_rows(min_row=1, max_col=1):
        cell.alignment = wrap
    help_ws["A1"].font = Font(bold=True, size=13)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula
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


def instructions(form: ReportForm, context: Mapping | None = None) -> list[str]:
    """The lines of the sheet "Hướng dẫn" (templates/forms/instructions.txt.j2)."""
    context = {"form": form, "meta": {}, "unit_name": "", "plan_based": False, "units_sheet": None,
               "meta_sheet": META_SHEET, **(context or {})}
    text = render("forms/instructions.txt.j2", **context)
    return [line.rstrip() for line in text.strip("\n").split("\n")]


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

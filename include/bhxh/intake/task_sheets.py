"""The task sheets of a plan-based report ("Nhiệm vụ chủ trì", "Nhiệm vụ phối hợp"): written pre-filled into a
unit's workbook, read back and validated against the plan's task table.

- "Nhiệm vụ chủ trì": the tasks the unit leads, pre-filled from the plan (id, content, product as planned,
  completion time as written, due); the unit fills Tình trạng, Sản phẩm (số, ngày văn bản), Ghi chú.
- "Nhiệm vụ phối hợp": the tasks it cooperates on, same columns (the status there is optional).

Every problem is a `bhxh.intake.problems.Problem` naming the sheet, row and column, in Vietnamese and English.
Validation is vectorised (pandas); Python loops only run over failing rows to write their messages.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from bhxh.calendar.plans.assignments import due_text, unit_tasks
from bhxh.calendar.plans.model import Plan
from bhxh.calendar.plans.task_form import (
    COLUMNS,
    COOP_SHEET,
    FILL_COLUMNS,
    FRAME_COLUMNS,
    LEAD_SHEET,
    REQUIRED_COLUMNS,
    STATUSES,
    TASK_SHEETS,
    TITLE_ROWS,
    status_code,
)
from bhxh.calendar.units import UnitRegistry
from bhxh.intake import limits
from bhxh.intake.limits import HEADER_SEARCH_ROWS
from bhxh.intake.problems import Problem, problem, short
from bhxh.intake.workbook import SheetRows, Workbook, WorkbookRefused

STRUCTURAL = frozenset({"not_a_spreadsheet", "corrupt_workbook", "missing_task_sheet", "missing_column", "task_sheet_too_large"})
_DANGEROUS = ("=", "+", "-", "@")


# -- writing --------------------------------------------------------------------------------------------
def _safe(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_task_sheets(workbook, plan: Plan, unit_id: str, day: dt.date, *, registry: UnitRegistry | None = None):
    """Add the sheets "Nhiệm vụ chủ trì" and "Nhiệm vụ phối hợp" to an openpyxl workbook, pre-filled with the
    unit's tasks; the status column offers the four statuses as a drop-down list. Returns the workbook."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    tasks = unit_tasks(plan, unit_id, day, registry)
    headers = list(COLUMNS.values())
    letters = {key: chr(ord("A") + i) for i, key in enumerate(COLUMNS)}
    for sheet, rows, title in (
        (LEAD_SHEET, tasks.led, "NHIỆM VỤ ĐƠN VỊ CHỦ TRÌ"),
        (COOP_SHEET, tasks.cooperating, "NHIỆM VỤ ĐƠN VỊ PHỐI HỢP"),
    ):
        if sheet in workbook.sheetnames:
            del workbook[sheet]
        ws = workbook.create_sheet(sheet)
        ws.append([f"{title} — {plan.source}: {plan.table}"])
        ws.cell(1, 1).font = Font(bold=True)
        ws.append([])
        ws.append(headers)
        header_row = TITLE_ROWS + 1
        for cell in ws[header_row]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for task in rows:
            ws.append([_safe(v) for v in (task.id, task.title, task.product, task.timing_text, due_text(task) or None, None, None, None)])
        for row in ws.iter_rows(min_row=header_row + 1):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula
        last = max(ws.max_row, header_row + 1) + 50  # room for rows a unit adds
        status_list = ",".join(STATUSES)
        dv = DataValidation(type="list", formula1=f'"{status_list}"', allow_blank=True, showErrorMessage=True)
        dv.error = "Chọn một trong: " + ", ".join(STATUSES) + " / Choose one of the four statuses."
        dv.errorTitle = "Tình trạng không hợp lệ"
        dv.prompt = "Hoàn thành, Đúng tiến độ, Chậm tiến độ, Chưa triển khai"
        dv.promptTitle = "Tình trạng"
        ws.add_data_validation(dv)
        dv.add(f"{letters['status']}{header_row + 1}:{letters['status']}{last}")
        widths = {"task_id": 22, "title": 60, "planned_product": 22, "timing_text": 20, "due": 14, "status": 18, "product": 30, "note": 30}
        for key, width in widths.items():  # at least as wide as the header
            ws.column_dimensions[letters[key]].width = max(width, len(COLUMNS[key]) + 2)
        ws.freeze_panes = f"A{header_row + 1}"
    return workbook


def add_task_sheets_to_file(path: Path, plan: Plan, unit_id: str, day: dt.date, *, registry: UnitRegistry | None = None) -> Path:
    """Add the task sheets to a workbook already written (e.g. by forms_xlsx.write_report_xlsx)."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    write_task_sheets(wb, plan, unit_id, day, registry=registry)
    wb.save(path)
    return path


# -- reading --------------------------------------------------------------------------------------------
def _norm(value: object) -> str:
    if value is None:
        return ""
    return " ".join(unicodedata.normalize("NFC", str(value)).replace("\u00a0", " ").split())


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object) for c in FRAME_COLUMNS})


def _book(source: bytes | Workbook) -> Workbook:
    return source if isinstance(source, Workbook) else Workbook(source)


def has_task_sheets(source: bytes | Workbook) -> bool:
    """Whether an XLSX file carries the lead-task sheet (so intake should validate the task sheets)."""
    try:
        return any(_norm(n) == LEAD_SHEET for n in _book(source).sheetnames)
    except WorkbookRefused:  # an unreadable file is intake's business, not ours
        return False


def read_task_sheets(source: bytes | Workbook, plan: Plan | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """The task rows of both sheets as one frame (sheet, row, task_id, title, status, product, note) and the
    problems of reading them (missing sheet or column, formulas). Never raises on bad input.

    Read within bounds (`bhxh.intake.workbook`): a sheet may hold a few rows per task of the plan (or of
    MIN_ROWS when no plan is given); a larger one is refused with a message that says so."""
    problems: list[Problem] = []
    if isinstance(source, bytes) and not zipfile.is_zipfile(io.BytesIO(source)):
        problems.append(problem("not_a_spreadsheet", "Tệp không phải bảng tính Excel (.xlsx). Hãy dùng tệp mẫu.", "The file is not an Excel workbook (.xlsx). Use the template."))
        return _empty_frame(), problems
    lines = len(plan.tasks) if plan is not None else 0
    try:
        book = _book(source)
        names = {_norm(n): n for n in book.sheetnames}
        frames = []
        for sheet in TASK_SHEETS:
            if sheet not in names:
                if sheet == LEAD_SHEET:
                    problems.append(problem("missing_task_sheet", f"Thiếu sheet '{sheet}' (các nhiệm vụ đơn vị chủ trì). Hãy dùng tệp mẫu, không đổi tên sheet.", f"The sheet '{sheet}' (the tasks the unit leads) is missing. Use the template and keep its sheet names.", sheet=sheet))
                continue
            rows = book.sheet(names[sheet], max_rows=limits.row_budget(lines), width=len(COLUMNS) + limits.EXTRA_COLUMNS, lines=lines, label="nhiệm vụ")
            frame = _read_sheet(rows, sheet, problems)
            if frame is not None:
                frames.append(frame)
    except WorkbookRefused as exc:
        code = exc.problem.code if exc.problem.code == "corrupt_workbook" else "task_sheet_too_large"
        problems.append(Problem(code, exc.problem.message_vi, exc.problem.message_en, exc.problem.sheet, exc.problem.row, exc.problem.column))
        return _empty_frame(), problems
    frames = [f for f in frames if not f.empty]
    if not frames:
        return _empty_frame(), problems
    return pd.concat(frames, ignore_index=True)[FRAME_COLUMNS], problems


def _read_sheet(ws: SheetRows, sheet: str, problems: list[Problem]) -> pd.DataFrame | None:
    grid = ws.rows
    formulas = set(ws.formulas)
    wanted = {COLUMNS[k] for k in REQUIRED_COLUMNS}
    head = next((i for i, (_, cells) in enumerate(grid[:HEADER_SEARCH_ROWS]) if wanted & {_norm(c) for c in cells}), None)
    if head is None:
        problems.append(problem("missing_column", f"Không tìm thấy dòng tiêu đề (cột '{COLUMNS['task_id']}', '{COLUMNS['status']}'). Hãy dùng tệp mẫu.", f"No header row found (columns '{COLUMNS['task_id']}', '{COLUMNS['status']}'). Use the template.", sheet=sheet))
        return None
    header_row, header_cells = grid[head]
    by_header = {v: k for k, v in COLUMNS.items()}
    position: dict[str, int] = {}
    for i, value in enumerate(header_cells):
        key = by_header.get(_norm(value))
        if key and key not in position:
            position[key] = i
    missing = [COLUMNS[k] for k in REQUIRED_COLUMNS if k not in position]
    for h in missing:
        problems.append(problem("missing_column", f"Thiếu cột '{h}'. Hãy dùng đúng tệp mẫu, không xóa hay đổi tên cột.", f"Column '{h}' is missing. Use the template without deleting or renaming columns.", sheet=sheet, row=header_row, column=h))
    if missing:
        return None
    records, rows = [], []
    for number, cells in grid[head + 1 :]:
        values = {}
        for key in ("task_id", "title", *FILL_COLUMNS):
            i = position.get(key)
            if i is not None and (number, i) in formulas:
                problems.append(problem("formula", "Ô chứa công thức thay vì giá trị. Hãy dán dạng giá trị (Paste Special > Values).", "The cell holds a formula instead of a value. Paste it as values (Paste Special > Values).", sheet=sheet, row=number, column=COLUMNS[key]))
                values[key] = None
                continue
            values[key] = cells[i] if i is not None and i < len(cells) else None
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
            continue
        records.append(values)
        rows.append(number)
    frame = pd.DataFrame(records, columns=["task_id", "title", *FILL_COLUMNS], dtype=object)
    for key in frame.columns:
        col = frame[key]
        # Excel may turn an id typed as 2 into 2.0; dates typed in the product column stay readable
        col = col.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else (f"{v:%d/%m/%Y}" if isinstance(v, dt.date | dt.datetime) else v), na_action="ignore")
        text = col.map(_norm, na_action="ignore").astype(object)
        frame[key] = text.where(text.fillna("") != "", None)
    frame.insert(0, "row", np.asarray(rows, dtype="int64"))
    frame.insert(0, "sheet", sheet)
    return frame


def validate_task_sheets(
    frame: pd.DataFrame, plan: Plan, unit_id: str, day: dt.date, *, registry: UnitRegistry | None = None
) -> list[Problem]:
    """Every problem of a unit's task sheets against the plan: a led task left out, a task not the unit's or
    on the wrong sheet, an unknown or repeated id, a missing or unknown status, "Hoàn thành" with no product."""
    problems: list[Problem] = []
    mine = unit_tasks(plan, unit_id, day, registry)
    led, coop = set(mine.led_ids), set(mine.cooperating_ids)
    known = {t.id for t in plan.tasks}
    headings = {t.id for t in plan.items} - known
    id_col, status_col, product_col = COLUMNS["task_id"], COLUMNS["status"], COLUMNS["product"]
    if frame is None:
        frame = _empty_frame()
    frame = frame.reset_index(drop=True)
    sheet, row = frame["sheet"], frame["row"]
    task_id = frame["task_id"]
    on_lead = (sheet == LEAD_SHEET).to_numpy(dtype=bool)
    has_id = task_id.notna().to_numpy(dtype=bool)
    ids = task_id.fillna("")

    def emit(mask, make) -> None:
        for i in np.flatnonzero(mask):
            problems.append(make(i, str(sheet.iat[i]), int(row.iat[i]), ids.iat[i]))

    emit(~has_id, lambda i, s, r, t: problem("required_value", f"Dòng có số liệu nhưng không có mã nhiệm vụ. Hãy ghi mã nhiệm vụ theo kế hoạch {plan.source}.", f"The row has data but no task id. Write the task id from plan {plan.source}.", sheet=s, row=r, column=id_col))
    is_heading = (has_id & ids.isin(headings).to_numpy(dtype=bool))
    unknown = has_id & ~ids.isin(known).to_numpy(dtype=bool) & ~is_heading
    emit(is_heading, lambda i, s, r, t: problem("not_a_task", f"'{short(t)}' là đề mục/mục tiêu của kế hoạch {plan.source}, không phải nhiệm vụ. Hãy báo cáo theo từng nhiệm vụ (hoạt động) bên dưới.", f"'{short(t)}' is a heading or objective of plan {plan.source}, not a task. Report on the tasks (activities) under it.", sheet=s, row=r, column=id_col))
    emit(unknown, lambda i, s, r, t: problem("unknown_task", f"Mã nhiệm vụ '{short(t)}' không có trong kế hoạch {plan.source}. Hãy dùng đúng mã trong tệp mẫu.", f"Task id '{short(t)}' is not in plan {plan.source}. Use the ids of the template.", sheet=s, row=r, column=id_col))
    known_mask = has_id & ids.isin(known).to_numpy(dtype=bool)
    in_led, in_coop = ids.isin(led).to_numpy(dtype=bool), ids.isin(coop).to_numpy(dtype=bool)
    foreign = known_mask & ~in_led & ~in_coop
    emit(foreign, lambda i, s, r, t: problem("not_unit_task", f"Nhiệm vụ {t} không do đơn vị '{unit_id}' chủ trì hay phối hợp theo kế hoạch {plan.source} ({_lead_text(plan, t)} chủ trì). Hãy xóa dòng này.", f"Task {t} is neither led nor co-operated by unit '{unit_id}' in plan {plan.source} (led by {_lead_text(plan, t)}). Delete this row.", sheet=s, row=r, column=id_col))
    emit(known_mask & on_lead & in_coop, lambda i, s, r, t: problem("wrong_sheet", f"Nhiệm vụ {t} đơn vị chỉ phối hợp thực hiện. Hãy chuyển dòng này sang sheet '{COOP_SHEET}'.", f"The unit only co-operates on task {t}. Move this row to the sheet '{COOP_SHEET}'.", sheet=s, row=r, column=id_col))
    emit(known_mask & ~on_lead & in_led, lambda i, s, r, t: problem("wrong_sheet", f"Nhiệm vụ {t} do đơn vị chủ trì. Hãy chuyển dòng này sang sheet '{LEAD_SHEET}'.", f"The unit leads task {t}. Move this row to the sheet '{LEAD_SHEET}'.", sheet=s, row=r, column=id_col))
    dup = (has_id & frame.duplicated(["sheet", "task_id"], keep="first").to_numpy(dtype=bool))
    emit(dup, lambda i, s, r, t: problem("duplicate_task", f"Nhiệm vụ {short(t)} xuất hiện nhiều lần trong sheet. Hãy giữ một dòng.", f"Task {short(t)} appears more than once in the sheet. Keep one row.", sheet=s, row=r, column=id_col))
    # status and product
    status = frame["status"]
    code = status_code(status)
    has_status = status.notna().to_numpy(dtype=bool)
    emit(has_status & code.isna().to_numpy(dtype=bool), lambda i, s, r, t: problem("unknown_status", f"Tình trạng '{short(status.iat[i])}' không hợp lệ. Hãy chọn một trong: {', '.join(STATUSES)}.", f"Status '{short(status.iat[i])}' is not valid. Choose one of: Hoàn thành (completed), Đúng tiến độ (on schedule), Chậm tiến độ (behind), Chưa triển khai (not started).", sheet=s, row=r, column=status_col))
    emit(on_lead & has_id & ~has_status & ~unknown & ~foreign, lambda i, s, r, t: problem("missing_status", f"Chưa chọn tình trạng của nhiệm vụ {t}. Hãy chọn một trong: {', '.join(STATUSES)}.", f"No status for task {t}. Choose one of: Hoàn thành (completed), Đúng tiến độ (on schedule), Chậm tiến độ (behind), Chưa triển khai (not started).", sheet=s, row=r, column=status_col))
    no_product = (code == "completed").to_numpy(dtype=bool) & frame["product"].isna().to_numpy(dtype=bool)
    emit(no_product, lambda i, s, r, t: problem("completed_without_product", f"Nhiệm vụ {short(t)} ghi 'Hoàn thành' nhưng chưa ghi sản phẩm. Hãy ghi số, ngày văn bản (ví dụ: Quyết định số 123/QĐ-BHXH ngày 15/10/2019).", f"Task {short(t)} is 'Hoàn thành' (completed) but no product is given. Write the document's number and date (e.g. Quyết định số 123/QĐ-BHXH ngày 15/10/2019).", sheet=s, row=r, column=product_col))
    for key in FILL_COLUMNS:
        text = frame[key]
        risky = text.str.startswith(_DANGEROUS, na=False).to_numpy(dtype=bool)
        emit(risky, lambda i, s, r, t, key=key, text=text: problem("formula_text", f"Ô bắt đầu bằng ký tự '{text.iat[i][0]}' nên có thể bị hiểu là công thức. Hãy bỏ ký tự này.", f"The cell starts with '{text.iat[i][0]}' and could act as a formula. Remove that character.", sheet=s, row=r, column=COLUMNS[key]))
    # a led task left out of the lead sheet
    sent = set(ids[on_lead & has_id])
    elsewhere = set(ids[~on_lead & has_id])
    for task in mine.led:
        if task.id in sent:
            continue
        hint_vi = f" (đang ở sheet '{COOP_SHEET}')" if task.id in elsewhere else ""
        hint_en = f" (it is on the sheet '{COOP_SHEET}')" if task.id in elsewhere else ""
        problems.append(problem("missing_task", f"Thiếu nhiệm vụ {task.id} ({short(task.title)}) do đơn vị chủ trì{hint_vi}. Hãy thêm dòng này theo tệp mẫu và ghi tình trạng.", f"Task {task.id} ({short(task.title)}), which the unit leads, is missing{hint_en}. Add its row from the template and give its status.", sheet=LEAD_SHEET, column=id_col))
    return problems


def _lead_text(plan: Plan, task_id: str) -> str:
    task = plan.get(task_id)
    return task.lead_text or ", ".join(task.leads()) or "?"


def check_task_content(
    source: bytes | Workbook, plan: Plan, unit_id: str, day: dt.date, *, registry: UnitRegistry | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and validate the task sheets of a file (its bytes, or the workbook already open): (frame, every problem)."""
    frame, problems = read_task_sheets(source, plan)
    if any(p.code in STRUCTURAL for p in problems):
        return frame, problems  # nothing reliable to check the rows against
    return frame, problems + validate_task_sheets(frame, plan, unit_id, day, registry=registry)

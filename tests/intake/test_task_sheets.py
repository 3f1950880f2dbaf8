"""A unit's task sheets for a plan-based obligation: the template pre-filled from the plan data, read back and
validated (a led task left out, a foreign task, an unknown id, "Hoàn thành" without product, a bad status)."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from bhxh.calendar.plans.assignments import due_on, unit_tasks
from bhxh.calendar.plans.model import load_plans
from bhxh.calendar.plans.task_form import COLUMNS, COOP_SHEET, LEAD_SHEET, STATUSES, TITLE_ROWS
from bhxh.calendar.units import default_registry
from bhxh.intake.problems import Problem
from bhxh.intake.task_sheets import (
    check_task_content,
    has_task_sheets,
    read_task_sheets,
    validate_task_sheets,
    write_task_sheets,
)

DAY = dt.date(2019, 11, 14)
UNIT = "bhxh_tinh_yen_bai"
HEADER_ROW = TITLE_ROWS + 1
COL = {key: openpyxl.utils.get_column_letter(i + 1) for i, key in enumerate(COLUMNS)}


@pytest.fixture(scope="module")
def plan():
    return load_plans()["nq51_action_programme"]


def template(plan, unit=UNIT) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.active.title = "Thông tin"
    return write_task_sheets(wb, plan, unit, DAY)


def sheet_ids(ws) -> list[str]:
    return [r[0] for r in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True) if r[0]]


def fill(wb, status="Đúng tiến độ", product=None) -> openpyxl.Workbook:
    ws = wb[LEAD_SHEET]
    for r in range(HEADER_ROW + 1, ws.max_row + 1):
        if ws[f"{COL['task_id']}{r}"].value:
            ws[f"{COL['status']}{r}"] = status
            ws[f"{COL['product']}{r}"] = product
    return wb


def content(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def check(plan, wb, unit=UNIT) -> list[Problem]:
    return check_task_content(content(wb), plan, unit, DAY)[1]


def expected_ids(plan, unit, role: str) -> list[str]:
    """The unit's tasks straight from the plan data (group:provincial counts for a provincial unit)."""
    reg = default_registry()
    tokens = {unit} | {f"group:{g}" for g in (reg.get(unit).group, *reg.get(unit).also_groups)}
    led = [t.id for t in plan.tasks if tokens & set(t.leads())]
    if role == "lead":
        return led
    return [t.id for t in plan.tasks if tokens & set(t.cooperating) and t.id not in led]


def test_provincial_template_has_exactly_its_led_and_cooperating_tasks(plan) -> None:
    wb = template(plan)
    led, coop = sheet_ids(wb[LEAD_SHEET]), sheet_ids(wb[COOP_SHEET])
    assert led == expected_ids(plan, UNIT, "lead")
    assert coop == expected_ids(plan, UNIT, "cooperating")
    # counted in 1541/QĐ-BHXH: BHXH tỉnh co-leads I.4.2 and IV.3; it cooperates on I.5.4-I.5.7 and VI.3
    assert led == ["I.4.2", "IV.3"]
    assert coop == ["I.5.4", "I.5.5", "I.5.6", "I.5.7", "VI.3"]
    ws = wb[LEAD_SHEET]
    assert [c.value for c in ws[HEADER_ROW]] == list(COLUMNS.values())
    row = HEADER_ROW + 1
    task = plan.get("I.4.2")
    assert ws[f"{COL['title']}{row}"].value == task.title
    assert ws[f"{COL['timing_text']}{row}"].value == "Giai đoạn 2017-2020"
    assert ws[f"{COL['due']}{row}"].value == "31/12/2020"
    validations = ws.data_validations.dataValidation
    assert len(validations) == 1 and validations[0].type == "list"
    assert all(s in validations[0].formula1 for s in STATUSES)
    assert str(validations[0].sqref).startswith(f"{COL['status']}{row}:{COL['status']}")


def test_central_unit_template_and_cchc_activities() -> None:
    cchc = load_plans()["cchc_2021_2030"]
    wb = openpyxl.Workbook()
    write_task_sheets(wb, cchc, "vu_tckt", dt.date(2025, 12, 15))
    led = sheet_ids(wb[LEAD_SHEET])
    assert "tai_chinh_cong.2025.3.1.8" in led  # the management-cost report to the Prime Minister
    assert led == [t.id for t in unit_tasks(cchc, "vu_tckt", dt.date(2025, 12, 15)).led]
    assert due_on(cchc.get("tai_chinh_cong.2025.3.1.8"), dt.date(2025, 12, 15)) == dt.date(2025, 11, 30)


def test_filled_correctly_has_no_problems(plan) -> None:
    wb = fill(template(plan))
    ws = wb[LEAD_SHEET]
    ws[f"{COL['status']}{HEADER_ROW + 1}"] = "Hoàn thành"
    ws[f"{COL['product']}{HEADER_ROW + 1}"] = "Báo cáo số 1234/BC-BHXH ngày 05/11/2019"
    ws[f"{COL['status']}{HEADER_ROW + 2}"] = "chậm  tiến độ"  # case and spaces forgiven
    assert check(plan, wb) == []
    frame, problems = read_task_sheets(content(wb))
    assert problems == []
    assert list(frame.loc[frame["sheet"] == LEAD_SHEET, "task_id"]) == ["I.4.2", "IV.3"]
    assert has_task_sheets(content(wb))


def test_left_out_task_is_named(plan) -> None:
    wb = fill(template(plan))
    wb[LEAD_SHEET].delete_rows(HEADER_ROW + 2)  # IV.3
    problems = check(plan, wb)
    assert [p.code for p in problems] == ["missing_task"]
    p = problems[0]
    assert "IV.3" in p.message_vi and "IV.3" in p.message_en
    assert p.sheet == LEAD_SHEET and p.column == "Mã nhiệm vụ"
    assert p.message_vi.startswith(f"Sheet '{LEAD_SHEET}'")


def _added_row(plan, task_id, status="Đúng tiến độ", product=None):
    wb = fill(template(plan))
    ws = wb[LEAD_SHEET]
    row = ws.max_row + 1
    ws[f"{COL['task_id']}{row}"] = task_id
    ws[f"{COL['status']}{row}"] = status
    ws[f"{COL['product']}{row}"] = product
    return wb, row


def test_foreign_task(plan) -> None:
    wb, row = _added_row(plan, "I.1")  # led by Ban Thu
    problems = check(plan, wb)
    assert [(p.code, p.sheet, p.row, p.column) for p in problems] == [("not_unit_task", LEAD_SHEET, row, "Mã nhiệm vụ")]
    assert "I.1" in problems[0].message_vi and "Ban Thu" in problems[0].message_en


def test_unknown_task_id(plan) -> None:
    wb, row = _added_row(plan, "IX.9")
    problems = check(plan, wb)
    assert [(p.code, p.sheet, p.row, p.column) for p in problems] == [("unknown_task", LEAD_SHEET, row, "Mã nhiệm vụ")]
    assert "IX.9" in problems[0].message_vi and "IX.9" in problems[0].message_en


def test_completed_without_product(plan) -> None:
    wb = fill(template(plan))
    ws = wb[LEAD_SHEET]
    ws[f"{COL['status']}{HEADER_ROW + 2}"] = "Hoàn thành"
    problems = check(plan, wb)
    assert [(p.code, p.sheet, p.row, p.column) for p in problems] == [
        ("completed_without_product", LEAD_SHEET, HEADER_ROW + 2, "Sản phẩm (số, ngày văn bản)")
    ]
    assert "IV.3" in problems[0].message_vi and "completed" in problems[0].message_en


def test_unknown_and_missing_status(plan) -> None:
    wb = fill(template(plan))
    ws = wb[LEAD_SHEET]
    ws[f"{COL['status']}{HEADER_ROW + 1}"] = "Xong rồi"
    ws[f"{COL['status']}{HEADER_ROW + 2}"] = None
    problems = check(plan, wb)
    assert [(p.code, p.row, p.column) for p in problems] == [
        ("unknown_status", HEADER_ROW + 1, "Tình trạng"),
        ("missing_status", HEADER_ROW + 2, "Tình trạng"),
    ]


def test_wrong_sheet_heading_and_duplicate(plan) -> None:
    wb, row = _added_row(plan, "I.5.4")  # a cooperating task on the lead sheet
    ws = wb[LEAD_SHEET]
    ws[f"{COL['task_id']}{row + 1}"] = "I.3"  # a heading, not a task
    ws[f"{COL['status']}{row + 1}"] = "Đúng tiến độ"
    ws[f"{COL['task_id']}{row + 2}"] = "IV.3"
    ws[f"{COL['status']}{row + 2}"] = "Đúng tiến độ"
    codes = [(p.code, p.row) for p in check(plan, wb)]
    assert codes == [("not_a_task", row + 1), ("wrong_sheet", row), ("duplicate_task", row + 2)]


def test_missing_sheet_and_column(plan) -> None:
    wb = fill(template(plan))
    del wb[LEAD_SHEET]
    problems = check(plan, wb)
    assert [p.code for p in problems] == ["missing_task_sheet"]
    wb = fill(template(plan))
    wb[LEAD_SHEET][f"{COL['status']}{HEADER_ROW}"] = "Trạng thái"
    problems = check(plan, wb)
    assert [(p.code, p.column) for p in problems] == [("missing_column", "Tình trạng")]


def test_frame_validation_direct(plan) -> None:
    frame, _ = read_task_sheets(content(fill(template(plan))))
    assert validate_task_sheets(frame, plan, UNIT, DAY) == []
    # another provincial unit may send the same rows: group:provincial tasks are every province's
    assert validate_task_sheets(frame, plan, "bhxh_tinh_dong_nai", DAY) == []
    # a central unit may not
    codes = {p.code for p in validate_task_sheets(frame, plan, "ban_thu", DAY)}
    assert {"missing_task", "not_unit_task"} <= codes

"""`make templates` (bhxh.cli.templates): the workbooks units fill in. A template filled in exactly as its
instructions say is accepted by the intake; its sheets are laid out for the person filling it in."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from bhxh.calendar.expected import plan_cycle
from bhxh.calendar.forms import META_SHEET, file_name, get_form
from bhxh.calendar.plans.assignments import unit_tasks
from bhxh.calendar.plans.model import load_plans
from bhxh.calendar.plans.task_form import COOP_SHEET, LEAD_SHEET, TITLE_ROWS
from bhxh.cli.templates import write_templates
from bhxh.intake.forms_xlsx import INSTRUCTIONS_SHEET, UNITS_SHEET
from bhxh.intake.submission import check_submission

OB, KEY, UNIT = "nq51_action_programme", "2019", "bhxh_tinh_yen_bai"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bhxh.cli.templates", *args], capture_output=True, text=True, timeout=300)


def _instructions(wb) -> str:
    return "\n".join(str(r[0]) for r in wb[INSTRUCTIONS_SHEET].iter_rows(values_only=True) if r[0])


def _fill_as_instructed(path: Path) -> Path:
    """What the instructions ask: a number in every coloured 'Thực hiện' cell (percentages 0-100, whole numbers
    of people and tasks), a status for every task the unit leads (with the document when it is completed)."""
    wb = load_workbook(path)
    form = get_form("nq51_indicators")
    ws = wb[form.sheet]
    actual = [c.value for c in ws[1]].index("Thực hiện") + 1
    values = {"percent": 95.5, "count": 1200, "money": 35000}
    for row in range(2, ws.max_row + 1):
        code = ws.cell(row, 1).value
        kind = next(i.kind for i in form.indicators if i.code == code)
        ws.cell(row, actual, {"NHIEM_VU_GIAO": 12, "NHIEM_VU_HT": 9}.get(code, values[kind]))
    lead = wb[LEAD_SHEET]
    header = [c.value for c in lead[TITLE_ROWS + 1]]
    status, product = header.index("Tình trạng") + 1, header.index("Sản phẩm (số, ngày văn bản)") + 1
    for row in range(TITLE_ROWS + 2, lead.max_row + 1):
        if lead.cell(row, 1).value:
            lead.cell(row, status, "Hoàn thành")
            lead.cell(row, product, "Quyết định số 123/QĐ-BHXH ngày 15/10/2019")
    coop = wb[COOP_SHEET]
    for row in range(TITLE_ROWS + 2, coop.max_row + 1):
        if coop.cell(row, 1).value:
            coop.cell(row, status, "Đúng tiến độ")
    filled = path.parent / "filled" / path.name  # the name the instructions give, kept
    filled.parent.mkdir(exist_ok=True)
    wb.save(filled)
    return filled


def test_a_template_filled_as_instructed_is_accepted(tmp_path):
    (path,) = write_templates(tmp_path, obligation=OB, cycle=KEY, unit=UNIT)
    assert path.name == file_name(OB, KEY, UNIT)
    assert f"Tên tệp: {path.name}" in _instructions(load_workbook(path))
    blank_problems = check_submission(path.read_bytes(), path.name)[1]
    assert {p.code for p in blank_problems} >= {"missing_status"}  # as written, nothing is filled in yet
    filled = _fill_as_instructed(path)
    parsed, problems, cycle, filed = check_submission(filled.read_bytes(), filled.name)
    assert problems == [], [p.message_vi for p in problems]
    assert cycle.key == KEY and filed == {"obligation": OB, "period": KEY, "unit": UNIT}
    led = unit_tasks(load_plans()[OB], UNIT, cycle.effective_last_day).led_ids
    assert set(parsed.tasks.loc[parsed.tasks["sheet"] == LEAD_SHEET, "task_id"]) == set(led)


def test_a_unit_template_is_laid_out_for_the_person_filling_it(tmp_path):
    (path,) = write_templates(tmp_path, obligation=OB, cycle=KEY, unit=UNIT)
    wb = load_workbook(path)
    assert wb.sheetnames == [INSTRUCTIONS_SHEET, META_SHEET, "Chỉ tiêu", LEAD_SHEET, COOP_SHEET, UNITS_SHEET]
    meta = {r[0]: r[1] for r in wb[META_SHEET].iter_rows(values_only=True)}
    assert meta == {"Mã đơn vị": UNIT, "Mã báo cáo": OB, "Kỳ báo cáo": KEY, "Tên đơn vị": "BHXH tỉnh Yên Bái"}
    for name in ("Chỉ tiêu", LEAD_SHEET, COOP_SHEET, UNITS_SHEET):  # every header fits its column
        ws = wb[name]
        row = TITLE_ROWS + 1 if name in (LEAD_SHEET, COOP_SHEET) else 1
        for cell in ws[row]:
            if cell.value:
                assert ws.column_dimensions[cell.column_letter].width >= len(str(cell.value)), (name, cell.value)
    plan = plan_cycle(OB, KEY)
    units = list(wb[UNITS_SHEET].iter_rows(min_row=2, values_only=True))
    assert [(u[0], u[1]) for u in units] == [(u.id, u.name) for u in plan.units]
    text = _instructions(wb)
    assert "hết ngày 14/11/2019" in text and "khth.khdt@vss.gov.vn" in text and "Hoàn thành" in text
    led = unit_tasks(load_plans()[OB], UNIT, plan.cycle.effective_last_day).led_ids
    ids = [r[0] for r in wb[LEAD_SHEET].iter_rows(min_row=TITLE_ROWS + 2, values_only=True) if r[0]]
    assert ids == led and ids


def test_default_run_writes_blanks_and_each_units_plan_workbook(tmp_path):
    proc = _cli("--out", str(tmp_path / "tpl"))
    assert proc.returncode == 0, proc.stderr
    paths = [Path(p) for p in proc.stdout.split()]
    assert all(p.exists() for p in paths)
    # a report without task sheets: one blank (XLSX and CSV) for any unit
    xlsx = tmp_path / "tpl" / "one_stop_2019.xlsx"
    assert xlsx in paths and xlsx.with_suffix(".csv") in paths
    wb = load_workbook(xlsx)
    assert wb.sheetnames == [INSTRUCTIONS_SHEET, META_SHEET, "Chỉ tiêu", UNITS_SHEET]
    assert wb[META_SHEET]["B2"].value == "one_stop_2019" and not wb[META_SHEET]["B1"].value
    assert "1257/BHXH-PC" in _instructions(wb)
    assert (xlsx.with_suffix(".csv")).read_bytes().startswith(b"\xef\xbb\xbf")
    # a plan-based report: one workbook per unit of the current cycle, never a blank without task sheets
    assert not (tmp_path / "tpl" / f"{OB}.xlsx").exists()
    today = dt.date.today()
    from bhxh.calendar.catalogue import default_catalogue
    from bhxh.cli.templates import current_cycle

    current = current_cycle(default_catalogue(), default_catalogue().get(OB), today)
    expected = {file_name(OB, current.key, u.id) for u in plan_cycle(OB, current.key).units}
    assert {p.name for p in paths if p.parent == tmp_path / "tpl" / OB / current.key} == expected


def test_a_blank_filled_in_by_a_unit_is_accepted(tmp_path):
    (xlsx, _csv) = [p for p in write_templates(tmp_path, obligation="one_stop_2019") if p.suffix in (".xlsx", ".csv")]
    wb = load_workbook(xlsx)
    ws = wb["Chỉ tiêu"]
    for row, value in zip(range(2, 12), [10, 40, 45, 5, 20, 50, 5, 10, 3, 12], strict=True):
        ws.cell(row=row, column=5, value=value)
    wb[META_SHEET]["B1"], wb[META_SHEET]["B3"] = "bhxh_tinh_yen_bai", "2019"
    filled = tmp_path / file_name("one_stop_2019", "2019", "bhxh_tinh_yen_bai")
    wb.save(filled)
    _parsed, problems, _, _ = check_submission(filled.read_bytes(), filled.name)
    assert problems == []


def test_unknown_choices_exit_2(tmp_path):
    for args in (["--obligation", "khong_co"], ["--obligation", OB, "--cycle", "1990"], ["--obligation", OB, "--cycle", KEY, "--unit", "khong_co"]):
        proc = _cli("--out", str(tmp_path / "khong-ghi"), *args)
        assert proc.returncode == 2 and " / " in proc.stderr, args
    assert not (tmp_path / "khong-ghi").exists()

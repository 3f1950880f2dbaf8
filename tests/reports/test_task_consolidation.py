"""Consolidation of a plan-based cycle's task reports: the task x unit matrix, the past-due list, completion
rates per unit and per objective, the change since the previous cycle, and the HTML/XLSX rendering."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from bhxh.calendar.plans.assignments import unit_tasks
from bhxh.calendar.plans.model import load_plans
from bhxh.calendar.plans.task_form import COLUMNS, LEAD_SHEET, TITLE_ROWS
from bhxh.intake.task_sheets import check_task_content, write_task_sheets
from bhxh.reports.tasks import NOT_REPORTED, SHEETS, consolidate_tasks, render_task_reports

DEADLINE = dt.date(2021, 11, 15)  # nq51 cycle 2021: the 2017-2020 tasks are past due
PREV_DEADLINE = dt.date(2020, 11, 13)
UNITS = ["ban_tst", "vu_tccb", "bhxh_tinh_yen_bai", "bhxh_tinh_dong_nai"]
HEADER_ROW = TITLE_ROWS + 1
COL = {key: openpyxl.utils.get_column_letter(i + 1) for i, key in enumerate(COLUMNS)}


@pytest.fixture(scope="module")
def plan():
    return load_plans()["nq51_action_programme"]


def send(plan, unit: str, statuses: dict[str, str], day=DEADLINE) -> pd.DataFrame:
    """A unit's filled template, read and validated as intake would (must have no problems)."""
    wb = openpyxl.Workbook()
    write_task_sheets(wb, plan, unit, day)
    ws = wb[LEAD_SHEET]
    for r in range(HEADER_ROW + 1, ws.max_row + 1):
        tid = ws[f"{COL['task_id']}{r}"].value
        status = statuses.get(tid, "Đúng tiến độ")
        ws[f"{COL['status']}{r}"] = status
        if status == "Hoàn thành":
            ws[f"{COL['product']}{r}"] = f"Báo cáo số {r}/BC-BHXH ngày 01/11/{day.year}"
    buf = io.BytesIO()
    wb.save(buf)
    frame, problems = check_task_content(buf.getvalue(), plan, unit, day)
    assert problems == [], [p.message_en for p in problems]
    return frame


@pytest.fixture(scope="module")
def sent(plan):
    return {
        "ban_tst": send(plan, "ban_tst", {"I.1": "Hoàn thành", "I.2": "Chậm tiến độ", "I.5.4": "Hoàn thành"}),
        "vu_tccb": send(plan, "vu_tccb", {t.id: "Hoàn thành" for t in plan.tasks}),
        "bhxh_tinh_yen_bai": send(plan, "bhxh_tinh_yen_bai", {"I.4.2": "Hoàn thành", "IV.3": "Chưa triển khai"}),
        # bhxh_tinh_dong_nai sends nothing
    }


@pytest.fixture(scope="module")
def previous(plan):
    return {
        "ban_tst": send(plan, "ban_tst", {"I.1": "Chậm tiến độ", "I.2": "Chậm tiến độ", "I.5.4": "Hoàn thành"}),  # its template as of 2021
        "bhxh_tinh_yen_bai": send(plan, "bhxh_tinh_yen_bai", {"I.4.2": "Đúng tiến độ", "IV.3": "Chưa triển khai"}, PREV_DEADLINE),
    }


@pytest.fixture(scope="module")
def cons(plan, sent, previous):
    return consolidate_tasks(plan, sent, DEADLINE, units=UNITS, previous=previous, cycle_key="2021")


def test_matrix_equals_what_units_sent(cons, sent) -> None:
    assert list(cons.matrix.columns) == UNITS
    for unit, frame in sent.items():
        lead = frame[frame["sheet"] == LEAD_SHEET]
        for task_id, status in zip(lead["task_id"], lead["status"], strict=True):
            assert cons.matrix.at[task_id, unit] == status
        # cooperating rows sent without a status stay empty cells
        coop = frame[(frame["sheet"] != LEAD_SHEET)]
        for task_id in coop["task_id"]:
            assert pd.isna(cons.matrix.at[task_id, unit])
    assert cons.matrix["bhxh_tinh_dong_nai"].isna().all()
    # every reported (unit, task) cell and nothing else is filled
    filled = int(cons.matrix.notna().sum().sum())
    assert filled == sum(int(f["status"].notna().sum()) for f in sent.values())


def test_past_due_with_lead(cons, plan) -> None:
    past = cons.past_due
    pairs = set(zip(past["task_id"], past["lead"], strict=True))
    assert ("I.2", "ban_tst") in pairs  # behind, due 31/12/2020
    assert ("I.1", "ban_tst") not in pairs  # completed
    assert ("IV.3", "bhxh_tinh_yen_bai") in pairs  # not started
    assert ("I.4.2", "bhxh_tinh_yen_bai") not in pairs
    # Đồng Nai did not report: its past-due led tasks are listed as not reported
    dn = past[past["lead"] == "bhxh_tinh_dong_nai"]
    assert set(dn["task_id"]) == {t.id for t in unit_tasks(plan, "bhxh_tinh_dong_nai", DEADLINE).led}
    assert set(dn["status"]) == {NOT_REPORTED}
    assert not (past["lead"] == "vu_tccb").any()  # completed everything
    assert (past["due"] < DEADLINE).all()
    assert past.loc[past["task_id"] == "I.2", "lead_name"].iat[0]


def test_nothing_past_due_before_the_due_dates(plan, sent) -> None:
    early = consolidate_tasks(plan, sent, dt.date(2017, 11, 14), units=UNITS)
    assert set(early.past_due["task_id"]) <= {"I.3.4"}  # the only task due in 2017 ("Năm 2017")


def test_rates_per_unit_and_objective(cons, plan) -> None:
    rates = cons.unit_rates.set_index("unit")
    led_bt = len(unit_tasks(plan, "ban_tst", DEADLINE).led)
    assert rates.at["ban_tst", "assigned"] == led_bt
    assert rates.at["ban_tst", "completed"] == 2  # I.1 and I.5.4
    assert rates.at["ban_tst", "rate"] == pytest.approx(100 * 2 / led_bt)
    assert rates.at["vu_tccb", "rate"] == pytest.approx(100.0)
    assert rates.at["bhxh_tinh_yen_bai", "rate"] == pytest.approx(50.0)
    assert rates.at["bhxh_tinh_yen_bai", "not_started"] == 1
    assert not rates.at["bhxh_tinh_dong_nai", "reported"] and pd.isna(rates.at["bhxh_tinh_dong_nai", "rate"])
    obj = cons.objective_rates.set_index("objective")
    # part I: Ban Quản lý Thu - Sổ, thẻ (successor of Ban Thu and Ban Sổ thẻ) leads I.1, I.2, I.5.1, I.5.4; each province leads I.4.2 (Yên Bái completed)
    part_i = cons.assignments[cons.assignments["objective"] == "I"]
    assert obj.at["I", "assigned"] == len(part_i)
    assert obj.at["I", "completed"] == int(part_i["completed"].sum())
    assert obj.at["I", "rate"] == pytest.approx(100 * part_i["completed"].mean())
    assert obj.at["VI", "rate"] == pytest.approx(100.0)  # all led by Vụ TCCB, all completed
    assert list(obj.index) == sorted(obj.index, key=lambda i: [t.id for t in plan.items].index(i))


def test_change_since_previous(cons) -> None:
    changes = {(r.task_id, r.unit): (r.before, r.now) for r in cons.changes.itertuples()}
    assert changes[("I.1", "ban_tst")] == ("Chậm tiến độ", "Hoàn thành")
    assert changes[("I.4.2", "bhxh_tinh_yen_bai")] == ("Đúng tiến độ", "Hoàn thành")
    assert ("I.2", "ban_tst") not in changes and ("IV.3", "bhxh_tinh_yen_bai") not in changes
    assert changes[("VI.1", "vu_tccb")] == (NOT_REPORTED, "Hoàn thành")  # did not report last cycle
    rates = cons.unit_rates.set_index("unit")
    assert rates.at["bhxh_tinh_yen_bai", "rate_before"] == pytest.approx(0.0)
    assert rates.at["bhxh_tinh_yen_bai", "change"] == pytest.approx(50.0)
    assert pd.isna(rates.at["vu_tccb", "rate_before"])


def test_render_html_and_xlsx(cons, tmp_path) -> None:
    paths = render_task_reports(cons, tmp_path)
    html = (tmp_path / "tong_hop_nhiem_vu.html").read_text(encoding="utf-8")
    assert 'id="matrix"' in html and "Chậm tiến độ" in html and "1541/QĐ-BHXH" in html
    assert "Kỳ báo cáo 2021" in html
    wb = openpyxl.load_workbook(paths["tasks_xlsx"])
    assert set(wb.sheetnames) == set(SHEETS.values())
    ws = wb[SHEETS["matrix"]]
    header = [c.value for c in ws[1]]
    col = next(i for i, h in enumerate(header) if h.endswith("(ban_tst)"))
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "I.2")
    assert row[col] == "Chậm tiến độ"
    assert wb[SHEETS["past_due"]].max_row == len(cons.past_due) + 1


def test_render_escapes_plan_text(plan, sent, tmp_path) -> None:
    import copy

    evil = copy.deepcopy(plan)
    evil.items[[t.id for t in evil.items].index("I.2")].title = "<script>alert(1)</script>"
    cons = consolidate_tasks(evil, sent, DEADLINE, units=UNITS)
    render_task_reports(cons, tmp_path)
    html = (tmp_path / "tong_hop_nhiem_vu.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_successor_inherits_tasks(plan) -> None:
    # Ban Thu and Ban Sổ thẻ were merged: on the 2021 deadline their tasks are Ban Quản lý Thu - Sổ, thẻ's
    led = [t.id for t in unit_tasks(plan, "ban_tst", DEADLINE).led]
    assert {"I.1", "I.2", "I.5.1", "I.5.4"} <= set(led)


def test_empty_cycle_renders(plan, tmp_path) -> None:
    cons = consolidate_tasks(plan, {}, DEADLINE, units=UNITS)
    assert cons.matrix.isna().all().all()
    assert set(cons.past_due["status"]) == {NOT_REPORTED}
    assert render_task_reports(cons, tmp_path)["tasks_html"].endswith(".html")

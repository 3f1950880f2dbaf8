"""Tests of `python -m bhxh.cli.calendar` (make calendar): JSON lines for 2025 and the iCalendar file, parsed back
with the icalendar library."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from icalendar import Calendar

from bhxh.calendar.units import default_registry
from bhxh.cli.calendar import main

ROOT = Path(__file__).resolve().parents[2]


def _provincial(unit_ids: list[str]) -> int:
    reg = default_registry()
    return sum(reg.get(u).group == "provincial" for u in unit_ids)


REQUIRED = {
    "obligation", "cycle", "title_vi", "period_start", "period_end", "nominal_due", "last_allowed_day",
    "effective_last_day", "due_at", "moved_because", "legal_wording", "recipient", "flags", "units",
}  # fmt: skip
# The 29 cycles whose nominal due date falls in 2025 (written out; see test_calendar for the rules).
QUARTERLY = ("cchc_results", "cchc_survey_results", "cchc_communication_results", "cchc_results_consolidated",
             "tthc_control_quarterly")
EXPECTED_2025 = {(ob, f"2025-Q{q}") for ob in QUARTERLY for q in range(1, 5)} | {
    ("nq28_dak_lak_bhxh", "2025-H1"), ("nq28_dak_lak_bhxh", "2025-H2"), ("nq51_action_programme", "2025"),
    ("cashless_payment_report", "2025"), ("management_cost_report", "2025"), ("nq28_dak_lak_units", "2025"),
    ("cchc_annual_plan_units", "2026"), ("cchc_annual_plan_consolidated", "2026"), ("nq28_dak_lak_consolidation", "2025"),
}  # fmt: skip


@pytest.fixture(scope="module")
def lines() -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "bhxh.cli.calendar", "--year", "2025"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def ics(tmp_path_factory: pytest.TempPathFactory) -> Calendar:
    path = tmp_path_factory.mktemp("ics") / "calendar-2025.ics"
    assert main(["--year", "2025", "--format", "ics", "--out", str(path)]) == 0
    raw = path.read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.rstrip().endswith(b"END:VCALENDAR")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # RFC 5545 folding (octets)
    return Calendar.from_ical(raw)


def test_jsonl_shape(lines: list[dict]) -> None:
    assert len(lines) == 29
    assert {(r["obligation"], r["cycle"]) for r in lines} == EXPECTED_2025
    for r in lines:
        assert set(r) >= REQUIRED, r["obligation"]
        assert dt.date.fromisoformat(r["nominal_due"]).year == 2025
        due = dt.datetime.fromisoformat(r["due_at"])
        assert r["due_at"].endswith("+07:00") and due.time() == dt.time(0)
        assert due.date() == dt.date.fromisoformat(r["effective_last_day"]) + dt.timedelta(days=1)
        assert isinstance(r["units"], list) and all(isinstance(u, str) for u in r["units"])
        assert (r["recipient"] is None) <= bool(r["flags"])
    nominal = [r["nominal_due"] for r in lines]
    assert nominal == sorted(nominal)


def test_jsonl_values(lines: list[dict]) -> None:
    by = {(r["obligation"], r["cycle"]): r for r in lines}
    nq51 = by["nq51_action_programme", "2025"]
    assert (nq51["nominal_due"], nq51["last_allowed_day"], nq51["effective_last_day"]) == ("2025-11-15", "2025-11-14", "2025-11-14")
    assert nq51["due_at"] == "2025-11-15T00:00:00+07:00"
    assert "trước ngày 15 tháng 11" in nq51["legal_wording"]
    assert "báo cáo theo quy định" in nq51["legal_wording"] and "Tổng Giám đốc" not in nq51["legal_wording"]
    # Vụ KH&ĐT ceased on 28/02/2025 with no successor in the data: no recipient, a flag, its last known name;
    # 34 provinces expected.
    assert nq51["recipient"] is None and nq51["recipient_ceased"] and nq51["recipient_name"] == "Vụ Kế hoạch và Đầu tư"
    assert any("Vụ Kế hoạch và Đầu tư" in f for f in nq51["flags"]) and not any("vu_khdt" in f for f in nq51["flags"])
    assert _provincial(nq51["units"]) == 34
    cost = by["cashless_payment_report", "2025"]
    assert (cost["nominal_due"], cost["effective_last_day"], cost["moved_because"]) == ("2025-11-30", "2025-12-01", "Chủ nhật 30/11/2025")
    assert cost["effective_last_day_vi"] == "Thứ Hai 01/12/2025" and cost["remarks"]["moved"] == "lùi từ Chủ nhật 30/11/2025"
    # the other reading of "Tháng 11 hằng năm": the last working day inside November
    assert cost["other_reading_day"] == "2025-11-28" and "Thứ Sáu 28/11/2025" in cost["remarks"]["other_reading"]
    assert "Tổng công ty Bưu điện Việt Nam" in cost["cooperating"] and "60%" in cost["legal_context"]
    mgmt = by["management_cost_report", "2025"]
    assert (mgmt["recipient_name"], mgmt["also_to_names"]) == ("Ủy ban Thường vụ Quốc hội", ["Bộ Tài chính"])
    assert "Hằng năm và kết thúc giai đoạn 3 năm" in mgmt["legal_wording"] and "Diễn giải" in mgmt["deadline_interpretation"]
    units = by["nq28_dak_lak_units", "2025"]
    assert (units["last_allowed_day"], units["effective_last_day"], units["moved_because"]) == ("2025-11-29", "2025-12-01", "Thứ Bảy 29/11/2025")
    # Điều 8 khoản 5: the plan for 2026 (due Mon 15/12/2025) has its data to Thu 11/12/2025, not 14/12
    plan26 = by["cchc_annual_plan_units", "2026"]
    assert (plan26["period_end"], plan26["period_end_nominal"]) == ("2025-12-11", "2025-12-14") and "Điều 8" in plan26["remarks"]["cut_off"]
    # the CCHC results are three reports and a consolidation upward, approved first
    q2 = {ob: by[ob, "2025-Q2"] for ob in QUARTERLY}
    assert q2["cchc_results_consolidated"]["recipient"] == "bo_noi_vu" and q2["cchc_results_consolidated"]["approval"] == "trình Lãnh đạo Ngành"
    assert _provincial(q2["cchc_results"]["units"]) == 35 and "bhxh_kv_35" in q2["cchc_results"]["units"]
    assert q2["cchc_survey_results"]["units"] == [] and q2["cchc_survey_results"]["flags"]  # the centre ceased 28/02/2025
    assert "ngày 25" in q2["tthc_control_quarterly"]["deadline_interpretation"]
    assert "không tìm thấy văn bản pháp lý nào quy định ngày 25" in q2["tthc_control_quarterly"]["deadline_interpretation"]
    # Q1 2025 is before the 2025 reorganisation of provinces: 63 provincial offices
    q1 = by["cchc_results", "2025-Q1"]
    assert _provincial(q1["units"]) == 63
    tthc = by["tthc_control_quarterly", "2025-Q1"]
    assert tthc["recipient"] == "vpcp" and tthc["units"] == ["vu_pc"] and tthc["flags"] == []
    assert by["cchc_annual_plan_units", "2026"]["nominal_due"] == "2025-12-15"
    # 7, 3 and 1 working days before Tue 18/03/2025
    assert [x["date"] for x in q1["reminders"]] == ["2025-03-07", "2025-03-13", "2025-03-17"]


def test_jsonl_to_file_keeps_vietnamese(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    assert main(["--year", "2019", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Báo cáo" in text and "\\u" not in text
    rows = [json.loads(line) for line in text.splitlines()]
    assert {"one_stop_2019", "org_restructuring_2019"} <= {r["obligation"] for r in rows}
    org = next(r for r in rows if r["obligation"] == "org_restructuring_2019")
    assert _provincial(org["units"]) == 63 and org["recipient"] == "vu_tccb"


def test_ics_calendar_properties(ics: Calendar) -> None:
    assert str(ics["VERSION"]) == "2.0"
    assert "BHXH" in str(ics["PRODID"])
    assert str(ics["METHOD"]) == "PUBLISH"


def test_ics_events(ics: Calendar) -> None:
    events = list(ics.walk("VEVENT"))
    assert len(events) == 29
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == 29
    assert {u.removesuffix("@bhxh") for u in uids} == {f"{o}/{c}" for o, c in EXPECTED_2025}
    for e in events:
        start, end = e.decoded("DTSTART"), e.decoded("DTEND")
        assert type(start) is dt.date and end - start == dt.timedelta(days=1)  # all-day
        assert e.decoded("DTSTAMP").tzinfo is not None
        assert "Hạn nộp" in str(e["SUMMARY"])
    by = {str(e["UID"]): e for e in events}
    cost = by["cashless_payment_report/2025@bhxh"]
    assert cost.decoded("DTSTART") == dt.date(2025, 12, 1)  # effective day (30/11/2025 is a Sunday)
    summary, description = str(cost["SUMMARY"]), str(cost["DESCRIPTION"])
    assert "3035/KH-BHXH" in summary and "2025" in summary
    assert "Tháng 11 hằng năm" in description  # the legal wording is quoted
    assert "30/11/2025" in description and "01/12/2025" in description  # nominal and effective
    assert "hết Thứ Hai 01/12/2025 (lùi từ Chủ nhật 30/11/2025)" in description
    assert "Thứ Sáu 28/11/2025" in description  # the other reading
    nq51 = by["nq51_action_programme/2025@bhxh"]
    assert nq51.decoded("DTSTART") == dt.date(2025, 11, 14)
    assert "trước ngày 15 tháng 11" in str(nq51["DESCRIPTION"]) and "CẢNH BÁO" in str(nq51["DESCRIPTION"])


def test_ics_alarms_are_working_days_before(ics: Calendar) -> None:
    by = {str(e["UID"]): e for e in ics.walk("VEVENT")}
    # cchc_results 2025-Q1: last day Tue 18/03/2025; 7/3/1 working days before = Fri 07/03, Thu 13/03, Mon 17/03
    alarms = by["cchc_results/2025-Q1@bhxh"].walk("VALARM")
    assert len(alarms) == 3
    start = dt.datetime(2025, 3, 18)
    fired = sorted(start + a.decoded("TRIGGER") for a in alarms)
    assert fired == [dt.datetime(2025, 3, 7, 8), dt.datetime(2025, 3, 13, 8), dt.datetime(2025, 3, 17, 8)]
    assert all(str(a["ACTION"]) == "DISPLAY" and str(a["DESCRIPTION"]) for a in alarms)
    # nq28_dak_lak_units 2025: effective Mon 01/12/2025; 1 working day before is Fri 28/11 (not the weekend)
    alarms = by["nq28_dak_lak_units/2025@bhxh"].walk("VALARM")
    fired = sorted(dt.datetime(2025, 12, 1) + a.decoded("TRIGGER") for a in alarms)
    assert fired == [dt.datetime(2025, 11, 20, 8), dt.datetime(2025, 11, 26, 8), dt.datetime(2025, 11, 28, 8)]
    # tthc_control_quarterly: reminders [3, 1] in the catalogue
    assert len(by["tthc_control_quarterly/2025-Q4@bhxh"].walk("VALARM")) == 2


def test_notes_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--notes"]) == 0
    notes = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(notes) >= 20 and {n["kind"] for n in notes} == {"on_request", "event", "one_off", "no_time"}
    by = {n["note"]: n for n in notes}
    assert "khi có yêu cầu" in by["nq28_bhxh_on_request"]["wording"] and by["nq28_bhxh_on_request"]["obligation"] == "nq28_dak_lak_bhxh"
    assert "theo yêu cầu của Thủ tướng Chính phủ (nếu có)" in by["tthc_pm_on_request"]["wording"]
    assert "Hằng năm (định kỳ 6 tháng/lần)" in by["open_data_review"]["wording"]  # seed 001's half-yearly review
    assert all(n["why_vi"] and n["why_en"] and n["part"] for n in notes)


def test_the_cycle_listing_points_to_the_notes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--year", "2019", "--out", "-"]) == 0
    assert "make calendar NOTES=1" in capsys.readouterr().err


def test_pending_culture_day_is_shown_where_a_date_depends_on_it() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bhxh.cli.calendar", "--year", "2026"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    rows = {json.loads(line)["cycle_id"]: json.loads(line) for line in out.splitlines()}
    depends = {k for k, r in rows.items() if "pending" in r["remarks"]}
    # reminders 7 working days before Mon 30/11/2026 count Tue 24/11/2026, whose day off is pending
    assert {"cashless_payment_report/2026", "nq28_dak_lak_units/2026"} <= depends
    assert "24/11/2026" in rows["cashless_payment_report/2026"]["remarks"]["pending"]
    assert "nq51_action_programme/2026" not in depends


def test_ics_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--year", "2019", "--format", "ics"]) == 0
    cal = Calendar.from_ical((tmp_path / "out" / "calendar" / "calendar-2019.ics").read_bytes())
    uids = {str(e["UID"]) for e in cal.walk("VEVENT")}
    assert {"one_stop_2019/2019@bhxh", "org_restructuring_2019/2019@bhxh"} <= uids

"""The Resolution 51 cycle of 2019 end to end through Airflow (`airflow dags test`) on the sample data, with
real e-mails and chat messages delivered to servers on loopback."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, airflow_db):
    """One full cycle in a fresh store; returns (summary, tmp folder)."""
    import os

    tmp = tmp_path_factory.mktemp("cycle")
    os.environ["BHXH_STORE_URL"] = f"sqlite:///{tmp / 'store.sqlite'}"
    try:
        from bhxh.cli import demo

        first = demo.run(out=tmp / "demo", reports_dir=tmp / "reports")
        mails = sorted((tmp / "demo" / "sink" / "mail").glob("*.eml"))
        parsed = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in mails]
        rcpts = [p.with_suffix(".eml.rcpt").read_text().split("\n") for p in mails]
        html_before = (tmp / "reports" / "nq51_action_programme" / "2019" / "bao_cao_tong_hop.html").read_bytes()
        second = demo.run(out=tmp / "demo", reports_dir=tmp / "reports")
    finally:
        os.environ.pop("BHXH_STORE_URL", None)
    return {"first": first, "second": second, "mails": parsed, "rcpts": rcpts, "tmp": tmp, "html_before": html_before}


def _scenarios(tmp: Path) -> dict[str, list[dict]]:
    manifest = json.loads((tmp / "demo" / "inbox" / "manifest.json").read_text(encoding="utf-8"))
    out: dict[str, list[dict]] = {}
    for item in manifest:
        out.setdefault(item["unit_id"], []).append(item)
    return out


def _values_from_file(path: Path) -> dict[str, float]:
    """Read the indicator values straight from the unit's file (independently of the project's parser)."""
    if path.suffix == ".csv":
        from bhxh.calendar.forms import get_form
        from bhxh.intake.reading import read_report

        parsed = read_report(path.read_bytes(), path.name, get_form("nq51_indicators"))
        return {r["code"]: r["actual"] for r in parsed.frame.to_dict("records") if r["actual"] == r["actual"]}
    ws = load_workbook(path)["Chỉ tiêu"]
    return {row[0]: float(row[4]) for row in ws.iter_rows(min_row=2, values_only=True) if row[4] is not None}


def test_counts_and_states(demo_run):
    s = demo_run["first"]
    # 63 provincial offices + the 20 central units of 14/11/2019, less the recipient (Vụ KHĐT)
    assert s["expected"] == 82
    assert s["on_time"] + s["late"] + s["invalid"] + s["missing"] == s["expected"]
    scen = _scenarios(demo_run["tmp"])
    invalid_units = {u for u, items in scen.items() if items[-1]["scenario"].startswith("invalid:")}
    assert set(s["invalid_units"]) == invalid_units
    assert len(invalid_units) == 7
    # each invalid unit fails for its own reason
    reasons = {tuple(sorted(codes)) for codes in s["invalid_units"].values()}
    assert len(reasons) == 7
    from bhxh.calendar.expected import plan_cycle

    expected_ids = {u.id for u in plan_cycle("nq51_action_programme", "2019").units}
    assert set(s["missing_units"]) == expected_ids - set(scen)
    assert s["late"] == sum(1 for items in scen.values() if items[-1]["scenario"] == "late")


def test_totals_are_sums_of_valid_submissions(demo_run):
    tmp = demo_run["tmp"]
    data = json.loads((tmp / "reports" / "nq51_action_programme" / "2019" / "tong_hop.json").read_text(encoding="utf-8"))
    expected: dict[str, float] = {}
    for items in _scenarios(tmp).values():
        last = items[-1]
        if last["scenario"].startswith("invalid:"):
            continue
        for code, value in _values_from_file(Path(last["path"])).items():
            expected[code] = expected.get(code, 0.0) + value
    for code in ("BHXH_BB", "BHXH_TN", "BHTN", "BHYT", "TONG_THU", "CHAM_DONG", "NHIEM_VU_HT", "NHIEM_VU_GIAO"):
        assert data["totals"][code] == pytest.approx(expected[code]), code
    wb = load_workbook(demo_run["first"]["reports"]["xlsx"].replace(str(tmp / "reports"), str(tmp / "reports")))
    ws = wb["Tổng hợp"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[-1][1].startswith("TỔNG HỢP")
    header = rows[0]
    col = next(i for i, h in enumerate(header) if h.startswith("Số người tham gia BHXH bắt buộc"))
    assert rows[-1][col] == pytest.approx(expected["BHXH_BB"])
    assert len(rows) == 1 + demo_run["first"]["expected"] + 1


def test_invalid_and_missing_units_named_in_report(demo_run):
    s = demo_run["first"]
    html = Path(s["reports"]["html"]).read_text(encoding="utf-8")
    from bhxh.calendar.units import default_registry

    reg = default_registry()
    import datetime as dt

    day = dt.date(2019, 11, 14)
    for unit_id in list(s["invalid_units"]) + s["missing_units"]:
        assert reg.get(unit_id).name_on(day) in html
    assert "Không hợp lệ" in html and "Chưa nộp" in html
    assert "phải bằng" not in html  # nothing from another form leaks in


def test_emails_arrived_to_the_right_people_in_vietnamese(demo_run):
    s, mails, rcpts = demo_run["first"], demo_run["mails"], demo_run["rcpts"]
    assert s["emails_received_this_run"] == len(mails) == s["emails_delivered"]
    assert s["chat_received_this_run"] == 1
    from bhxh.calendar.expected import plan_cycle

    plan = plan_cycle("nq51_action_programme", "2019")
    by_rcpt = {r[0]: m for r, m in zip(rcpts, mails, strict=True)}
    # the consolidated report to Vụ Kế hoạch và Đầu tư, with the XLSX attached
    report = by_rcpt["khth.khdt@vss.gov.vn"]
    assert "Tổng hợp báo cáo" in report["subject"]
    names = [part.get_filename() for part in report.iter_attachments()]
    assert "bao_cao_tong_hop.xlsx" in names
    # every unit that sent something or is missing got exactly one message at its own address
    unit_addresses = {u.email for u in plan.units}
    assert unit_addresses <= set(by_rcpt)
    assert len(rcpts) == len(set(r[0] for r in rcpts))
    yen_bai = next(u for u in plan.units if u.id == "bhxh_tinh_yen_bai")
    body = by_rcpt[yen_bai.email].get_body(preferencelist=("plain", "html")).get_content()
    assert "Kính gửi: BHXH tỉnh Yên Bái" in body
    assert "hạn thực tế: hết ngày 14/11/2019" in body
    invalid_unit = next(iter(s["invalid_units"]))
    msg = by_rcpt[next(u.email for u in plan.units if u.id == invalid_unit)]
    assert "chưa hợp lệ" in msg["subject"]
    assert "Sheet 'Chỉ tiêu'" in msg.get_body(preferencelist=("plain",)).get_content() or invalid_unit


def test_second_run_same_report_no_message_twice(demo_run):
    first, second = demo_run["first"], demo_run["second"]
    assert second["emails_received_this_run"] == 0
    assert second["chat_received_this_run"] == 0
    assert second["emails_delivered"] == first["emails_delivered"]
    for key in ("expected", "on_time", "late", "invalid", "missing", "invalid_units", "missing_units"):
        assert second[key] == first[key]
    html_after = Path(second["reports"]["html"]).read_bytes()
    assert html_after == demo_run["html_before"]


def _task_statuses(path: Path) -> dict[str, str]:
    """The status a unit wrote for each task, read straight from its workbook."""
    from bhxh.calendar.plans.task_form import STATUSES, TASK_SHEETS, TITLE_ROWS

    wb = load_workbook(path)
    out = {}
    for sheet in TASK_SHEETS:
        for row in wb[sheet].iter_rows(min_row=TITLE_ROWS + 2, values_only=True):
            if row[0]:
                out[row[0]] = STATUSES.get(row[5], row[5])
    return out


def test_unit_that_left_out_a_task_is_told_which(demo_run):
    s, tmp = demo_run["first"], demo_run["tmp"]
    left_out = next(u for u, items in _scenarios(tmp).items() if items[-1]["scenario"] == "invalid:task_left_out")
    assert s["invalid_units"][left_out] == ["missing_task"]
    import datetime as dt

    from bhxh.calendar.plans.assignments import unit_tasks
    from bhxh.calendar.plans.model import load_plans

    led = unit_tasks(load_plans()["nq51_action_programme"], left_out, dt.date(2019, 11, 14)).led
    sent = _task_statuses(Path(_scenarios(tmp)[left_out][-1]["path"]))
    missing = [t.id for t in led if t.id not in sent]
    assert len(missing) == 1
    data = json.loads((tmp / "reports" / "nq51_action_programme" / "2019" / "tong_hop.json").read_text(encoding="utf-8"))
    messages = " ".join(e["message_vi"] for e in data["units"][left_out]["errors"])
    assert f"Thiếu nhiệm vụ {missing[0]}" in messages


def test_task_matrix_equals_what_units_sent(demo_run):
    from bhxh.calendar.plans.task_form import STATUSES

    s, tmp = demo_run["first"], demo_run["tmp"]
    ws = load_workbook(s["reports"]["xlsx"])["Ma trận nhiệm vụ"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    matrix = {r[0]: dict(zip(header[3:], r[3:], strict=True)) for r in rows[1:]}
    checked = 0
    for unit_id, items in _scenarios(tmp).items():
        last = items[-1]
        if last["scenario"].startswith("invalid:") or not last["path"].endswith(".xlsx"):
            continue
        column = next(h for h in header[3:] if h.endswith(f"({unit_id})"))
        for task_id, status in _task_statuses(Path(last["path"])).items():
            cell = matrix[task_id][column]
            assert STATUSES.get(cell, cell) == status, (unit_id, task_id)
            checked += 1
    assert checked > 100


def test_every_report_the_summary_names_exists(demo_run):
    import docx

    reports = demo_run["first"]["reports"]
    assert set(reports) == {"html", "xlsx", "docx", "pdf", "tasks_html"}
    for path in reports.values():
        assert Path(path).stat().st_size > 0, path
    document = docx.Document(reports["docx"])
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    text = "\n".join([p.text for p in document.paragraphs] + cells)  # the header and signature blocks are tables
    assert "BÁO CÁO" in text and "Nơi nhận:" in text
    assert Path(reports["pdf"]).read_bytes()[:5] == b"%PDF-"  # made through LibreOffice in the consolidate task

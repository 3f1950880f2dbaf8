"""The consolidated report's files ("báo cáo tổng hợp"): HTML, XLSX (with the comparison and the task matrix),
the DOCX administrative document and a JSON summary, under out/reports/<obligation>/<cycle>/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from bhxh.calendar.forms import get_form
from bhxh.reports.consolidation import Consolidated
from bhxh.reports.states import STATE_VI
from bhxh.reports.xlsx import write_xlsx
from bhxh.templating import render

if TYPE_CHECKING:  # intake imports pandas and pandera (~0.4 s): only a revalidation needs it at run time
    pass


# -- rendering ------------------------------------------------------------------------------------------
def render_reports(cons: Consolidated, out_dir: Path, comparison=None) -> dict[str, str]:
    """The consolidated report as HTML and XLSX (and, given the comparison with the targets and the previous
    cycle from `bhxh.reports.comparison.compare`, as a DOCX administrative document) under out_dir/<obligation>/<cycle>/."""
    plan = cons.plan
    form = get_form(plan.obligation.schema_name)
    target = out_dir / plan.obligation.id / plan.cycle.key
    target.mkdir(parents=True, exist_ok=True)
    context = {**report_context(cons, form), "comparison": comparison}
    html_path = target / "bao_cao_tong_hop.html"
    html_path.write_text(render("reports/consolidated.html.j2", **context), encoding="utf-8")
    header = ["Mã đơn vị", "Tên đơn vị", "Tình trạng", "Thời điểm nhận"] + [f"{i.name} ({i.measure})" for i in form.indicators] + ["Lỗi"]
    rows = []
    for r in cons.rows:
        errors = "; ".join(e.get("message_vi", "") for e in r.errors)
        rows.append([r.unit.id, r.unit.name, r.state_vi, r.received_at or ""] + [r.values.get(i.code) for i in form.indicators] + [errors])
    rows.append(["", "TỔNG HỢP (chỉ báo cáo hợp lệ)", "", ""] + [cons.totals.get(i.code) for i in form.indicators] + [""])
    summary = [
        ["Số đơn vị phải báo cáo", cons.expected],
        ["Đúng hạn", cons.counts["on_time"]],
        ["Trễ hạn", cons.counts["late"]],
        ["Không hợp lệ", cons.counts["invalid"]],
        ["Chưa nộp", cons.counts["missing"]],
        ["Tỷ lệ nộp báo cáo (%)", round(cons.reporting_rate, 1)],
        ["Tỷ lệ đúng hạn (%)", round(cons.on_time_rate, 1)],
        ["Hạn theo văn bản", f"{plan.cycle.nominal_due:%d/%m/%Y}"],
        ["Hạn thực tế (hết ngày)", f"{plan.cycle.effective_last_day:%d/%m/%Y}"],
    ]
    sheets = {"Tổng hợp": (header, rows), "Tình hình nộp": (["Nội dung", "Giá trị"], summary)}
    if comparison is not None:
        sheets["So sánh"] = _comparison_sheet(comparison)
    task_paths: dict[str, str] = {}
    if plan.obligation.plan:
        from bhxh.calendar.plans.model import load_plans
        from bhxh.reports.tasks import consolidate_tasks, frames_from_records, render_html, xlsx_sheets

        tasks = consolidate_tasks(
            load_plans()[plan.obligation.plan], frames_from_records(cons.task_rows), plan.cycle.effective_last_day,
            units=[u.id for u in plan.units], previous=frames_from_records(cons.previous_task_rows), cycle_key=plan.cycle.key,
        )
        tasks_html = target / "tong_hop_nhiem_vu.html"
        tasks_html.write_text(render_html(tasks), encoding="utf-8")
        task_paths["tasks_html"] = str(tasks_html)
        sheets.update(xlsx_sheets(tasks))
    xlsx_path = write_xlsx(target / "bao_cao_tong_hop.xlsx", sheets)
    (target / "tong_hop.json").write_text(json.dumps(_summary_json(cons), ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    paths = {"html": str(html_path), "xlsx": str(xlsx_path), **task_paths}
    if comparison is not None:
        from bhxh.reports.docx_report import Signer, render_docx  # imports cycle.py itself

        # The document date is the cycle's effective deadline so that a re-run renders the same document.
        docx = render_docx(cons, comparison, target / "bao_cao_tong_hop.docx", number="", place="", signer=Signer(),
                           issued_on=plan.cycle.effective_last_day)
        paths["docx"] = str(docx)
    return paths


def _comparison_sheet(comparison) -> tuple[list[str], list[list]]:
    """One row per unit and indicator: value, target, gap, previous cycle, change (numbers, never formulas)."""
    header = ["Mã đơn vị", "Tên đơn vị", "Tình trạng", "Mã chỉ tiêu", "Kỳ này", "Mục tiêu", "Năm mục tiêu", "Chênh lệch",
              f"Kỳ trước ({comparison.previous_cycle_key or '—'})", "Tăng/giảm"]
    rows = []
    for u in comparison.units:
        for code, c in u.cells.items():
            rows.append([u.unit_id, u.unit_name, STATE_VI.get(u.state, u.state), code, c.value, c.target, c.target_year,
                         c.gap, c.previous, c.change])
    for code, c in comparison.totals.items():
        rows.append(["", "TỔNG HỢP", "", code, c.value, c.target, c.target_year, c.gap, c.previous, c.change])
    return header, rows


def report_context(cons: Consolidated, form) -> dict:
    plan = cons.plan
    return {
        "obligation": plan.obligation,
        "cycle": plan.cycle,
        "recipient": plan.recipient,
        "rows": cons.rows,
        "indicators": form.indicators,
        "totals": cons.totals,
        "counts": cons.counts,
        "expected": cons.expected,
        "reporting_rate": cons.reporting_rate,
        "on_time_rate": cons.on_time_rate,
        "flags": plan.flags,
        "state_vi": STATE_VI,
    }


def _summary_json(cons: Consolidated) -> dict:
    return {
        "obligation": cons.plan.obligation.id,
        "cycle": cons.plan.cycle.key,
        "expected": cons.expected,
        **cons.counts,
        "totals": cons.totals,
        "units": {r.unit.id: {"state": r.state, "values": r.values, "errors": r.errors} for r in cons.rows},
    }

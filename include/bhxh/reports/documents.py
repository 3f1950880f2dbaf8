"""The consolidated report's files ("báo cáo tổng hợp") under out/reports/<obligation>/<cycle>/: the HTML page,
the XLSX appendix (every unit's data, the comparison, the task matrix), the DOCX administrative document, its PDF
(signed when the department's certificate is configured), the issue record and a JSON summary.

Writing the same cycle twice gives the same documents: the issue date is recorded once per cycle
(`phat_hanh.json`), the DOCX is byte-stable, and the PDF is kept as it is while the DOCX has not changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path

from bhxh.calendar.cycles import TZ
from bhxh.calendar.forms import get_form
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.reports.consolidation import Consolidated
from bhxh.reports.issuer import (
    read_record,
    recorded_date,
    resolve_issuer,
    settings_document,
    today,
    write_record,
)
from bhxh.reports.states import STATE_VI
from bhxh.reports.xlsx import Column, Sheet, write_xlsx
from bhxh.templating import render

HTML_NAME, XLSX_NAME, DOCX_NAME, PDF_NAME = (
    "bao_cao_tong_hop.html", "bao_cao_tong_hop.xlsx", "bao_cao_tong_hop.docx", "bao_cao_tong_hop.pdf"
)
ACTION_KINDS = ("returned", "extension", "late_reason")


# -- rendering ------------------------------------------------------------------------------------------
def render_reports(
    cons: Consolidated,
    out_dir: Path,
    comparison=None,
    *,
    settings: Mapping | None = None,
    log: Callable[[str], None] = print,
    issued_today: Callable[[], dt.date] = today,
) -> dict[str, str]:
    """The consolidated report as HTML and XLSX and, given the comparison with the targets and the previous cycle
    (`bhxh.reports.comparison.compare`), as the DOCX administrative document and its PDF, under
    out_dir/<obligation>/<cycle>/. Returns the files' paths by kind.

    `settings`: what the department configured (`dags/common/wiring.py document_settings`): {"issuer": the
    `bhxh_issuer` connection's extra, "signing": {"p12_base64" | "p12_path", "passphrase"} or None}. `log` gets
    the lines that say what was issued, and whether the PDF is signed.
    """
    plan = cons.plan
    form = get_form(plan.obligation.schema_name)
    target = out_dir / plan.obligation.id / plan.cycle.key
    target.mkdir(parents=True, exist_ok=True)
    actions = action_rows(getattr(cons, "actions", None) or [], plan.cycle.effective_last_day)
    context = {**report_context(cons, form), "comparison": comparison, "actions": actions}
    html_path = target / HTML_NAME
    html_path.write_text(render("reports/consolidated.html.j2", **context), encoding="utf-8")
    sheets = appendix_sheets(cons, form, comparison)
    paths: dict[str, str] = {"html": str(html_path)}
    tasks = None
    if plan.obligation.plan:
        from bhxh.calendar.plans.model import load_plans
        from bhxh.reports.tasks import consolidate_tasks, frames_from_records, render_html, xlsx_sheets

        tasks = consolidate_tasks(
            load_plans()[plan.obligation.plan], frames_from_records(cons.task_rows), plan.cycle.effective_last_day,
            units=[u.id for u in plan.units], previous=frames_from_records(cons.previous_task_rows), cycle_key=plan.cycle.key,
        )
        tasks_html = target / "tong_hop_nhiem_vu.html"
        tasks_html.write_text(render_html(tasks), encoding="utf-8")
        paths["tasks_html"] = str(tasks_html)
        sheets.update(xlsx_sheets(tasks))
    title = f"{plan.obligation.title_vi} kỳ {plan.cycle.key}"
    # dated (in its properties) the day after the deadline: the same cycle, the same bytes
    created = dt.datetime.combine(plan.cycle.effective_last_day + dt.timedelta(days=1), dt.time(), TZ)
    paths["xlsx"] = str(write_xlsx(target / XLSX_NAME, sheets, title=title, created=created))
    (target / "tong_hop.json").write_text(json.dumps(_summary_json(cons), ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    if comparison is not None:
        paths.update(_issue(cons, comparison, target, settings or {}, tasks, actions, log, issued_today))
    return paths


def _issue(cons, comparison, target: Path, settings: Mapping, tasks, actions, log, issued_today) -> dict[str, str]:
    """The DOCX and its PDF, dated and numbered once per cycle, signed when a certificate is configured."""
    from bhxh.reports.docx_report import (
        render_docx,  # docxtpl costs ~0.3 s to import: only when a DOCX is made
    )
    from bhxh.reports.pdf import convert
    from bhxh.reports.signing import certificate_name, load_key, sign_pdf, signature_box

    plan = cons.plan
    record = read_record(target)
    chosen = settings_document(plan, settings.get("issuer"))
    issued_on = chosen.get("date") or recorded_date(record) or issued_today()
    number = chosen.get("number") or str(record.get("number") or "")
    issuer = resolve_issuer(plan, settings.get("issuer"), issued_on=issued_on, number=number)
    key = load_key(settings.get("signing"))
    if key is not None and not issuer.signer.named:
        issuer = dataclasses.replace(issuer, signer=dataclasses.replace(issuer.signer, name=certificate_name(key), named=True))
    docx = render_docx(cons, comparison, target / DOCX_NAME, issuer, tasks=tasks, actions=actions, appendix_file=XLSX_NAME)
    docx_sha = _sha(docx)
    pdf = target / PDF_NAME
    fingerprint = key.fingerprint if key else None
    reused = (
        pdf.is_file()
        and record.get("docx_sha256") == docx_sha
        and record.get("pdf_sha256") == _sha(pdf)
        and record.get("key") == fingerprint
    )
    signed_by = record.get("signed_by") if reused else None
    if not reused:
        convert(docx, pdf)
        if key is not None:
            page, box = signature_box(pdf, issuer.signer.title, issuer.signer.name)
            signed = sign_pdf(pdf.read_bytes(), key, page=page, box=box, issuer=issuer.name, place=issuer.place)
            pdf.write_bytes(signed)
            signed_by = certificate_name(key)
    write_record(target, {
        "issued_on": issuer.issued_on.isoformat(),
        "number": issuer.number,
        "issuer": issuer.name,
        "signer": issuer.signer.name,
        "docx_sha256": docx_sha,
        "pdf_sha256": _sha(pdf),
        "key": fingerprint,
        "signed_by": signed_by,
    })
    text = render(
        "reports/documents_log.txt.j2", docx=docx, pdf=pdf, issued_on=issuer.issued_on, number=issuer.number,
        signed=signed_by is not None, signed_by=signed_by, reused=reused, signer_named=issuer.signer.named,
        signer_name=issuer.signer.name,
    )
    for line in text.splitlines():
        if line.strip():
            log(line)
    return {"docx": str(docx), "pdf": str(pdf)}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the operators' actions ---------------------------------------------------------------------------------
def _field(record, name: str):
    return record.get(name) if isinstance(record, Mapping) else getattr(record, name, None)


def _when(value) -> tuple[str, dt.datetime | None]:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value[:32], None
    if isinstance(value, dt.datetime):
        local = value.astimezone(TZ) if value.tzinfo else value.replace(tzinfo=TZ)
        return local.strftime("%H:%M %d/%m/%Y"), local
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y"), None
    return "", None


def _day(value) -> str:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value[:32]
    return value.strftime("%d/%m/%Y") if isinstance(value, dt.date) else ""


def action_rows(actions, day: dt.date, registry: UnitRegistry | None = None) -> list[dict]:
    """The operators' actions of the cycle (`Consolidated.actions`: when, who, unit_id, unit_name, kind in
    returned | extension | late_reason, reason, new_last_day) as rows for the HTML and DOCX annex, in time order;
    each unit by its Vietnamese name."""
    rows: list[dict] = []
    if not actions:
        return rows
    registry = registry or default_registry()
    for record in actions:
        kind = _field(record, "kind")
        if kind not in ACTION_KINDS:
            continue
        unit_id = str(_field(record, "unit_id") or "")
        name = _field(record, "unit_name")
        if not name and unit_id in registry:
            name = registry.get(unit_id).name_on(day)
        when, at = _when(_field(record, "when"))
        rows.append({
            "when": when,
            "at": at,
            "who": str(_field(record, "who") or ""),
            "unit": str(name or unit_id),
            "kind": kind,
            "reason": str(_field(record, "reason") or ""),
            "new_last_day": _day(_field(record, "new_last_day")),
        })
    rows.sort(key=lambda r: (r["at"] is None, r["at"] or dt.datetime.min.replace(tzinfo=TZ)))
    return rows


# -- the XLSX appendix --------------------------------------------------------------------------------------
def _received(value: str | None) -> dt.datetime | None:
    """The receipt time as the consolidation writes it (14:54 06/11/2019, Asia/Ho_Chi_Minh) as a spreadsheet date."""
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%H:%M %d/%m/%Y")
    except ValueError:
        return None


def _indicator_kind(kind: str) -> str:
    return {"count": "int", "percent": "percent"}.get(kind, "auto")


def appendix_sheets(cons: Consolidated, form, comparison=None) -> dict[str, Sheet]:
    """The appendix's sheets: every unit's values (with the totals), the reporting summary, the comparison."""
    plan = cons.plan
    text = "text"
    columns = [Column("Mã đơn vị", text), Column("Tên đơn vị", text, 34), Column("Tình trạng", text, 13),
               Column("Thời điểm nhận (giờ Việt Nam)", "datetime", 17)]
    columns += [Column(f"{i.name} ({i.measure})", _indicator_kind(i.kind)) for i in form.indicators]
    columns.append(Column("Lỗi", text, 48))
    rows = []
    for r in cons.rows:
        errors = "; ".join(e.get("message_vi", "").rstrip(" .;") for e in r.errors if e.get("message_vi"))
        rows.append([r.unit.id, r.unit.name, r.state_vi, _received(r.received_at)]
                    + [r.values.get(i.code) for i in form.indicators] + [errors])
    total = ["", "TỔNG HỢP (chỉ báo cáo hợp lệ)", "", None] + [cons.totals.get(i.code) for i in form.indicators] + [""]
    summary = Sheet(
        [Column("Nội dung", text, 40), Column("Giá trị", "auto", 16)],
        [
            ["Số đơn vị phải báo cáo", cons.expected],
            ["Đúng hạn", cons.counts["on_time"]],
            ["Trễ hạn", cons.counts["late"]],
            ["Không hợp lệ", cons.counts["invalid"]],
            ["Chưa nộp", cons.counts["missing"]],
            ["Tỷ lệ nộp báo cáo (%)", round(cons.reporting_rate, 1)],
            ["Tỷ lệ đúng hạn (%)", round(cons.on_time_rate, 1)],
            ["Hạn theo văn bản", plan.cycle.nominal_due],
            ["Hạn thực tế (hết ngày)", plan.cycle.effective_last_day],
        ],
        freeze="A2",
    )
    sheets = {"Tổng hợp": Sheet(columns, rows, totals=[total], freeze="C2"), "Tình hình nộp": summary}
    if comparison is not None:
        sheets["So sánh"] = _comparison_sheet(comparison)
    return sheets


def _comparison_sheet(comparison) -> Sheet:
    """One row per unit and indicator: value, target, gap, previous cycle, change (numbers, never formulas)."""
    text = "text"
    previous = comparison.previous_cycle_key or "—"
    columns = [Column("Mã đơn vị", text), Column("Tên đơn vị", text), Column("Tình trạng", text),
               Column("Mã chỉ tiêu", text), Column("Chỉ tiêu", text, 40), Column("Kỳ này"), Column("Mục tiêu"),
               Column("Năm mục tiêu", "text"), Column("Chênh lệch"), Column(f"Kỳ trước ({previous})"), Column("Tăng/giảm")]
    names = {i.code: i.name for i in comparison.indicators}
    kinds = {i.code: i.kind for i in comparison.indicators}

    def nums(code, values):
        return [round(v, 1) if v is not None and kinds[code] == "percent" else v for v in values]

    rows = []
    for u in comparison.units:
        for code, c in u.cells.items():
            rows.append([u.unit_id, u.unit_name, STATE_VI.get(u.state, u.state), code, names[code],
                         *nums(code, [c.value, c.target]), str(c.target_year or ""), *nums(code, [c.gap, c.previous, c.change])])
    totals = [["", "TỔNG HỢP", "", code, names[code], *nums(code, [c.value, c.target]), str(c.target_year or ""),
               *nums(code, [c.gap, c.previous, c.change])] for code, c in comparison.totals.items()]
    return Sheet(columns, rows, totals=totals, freeze="C2")


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

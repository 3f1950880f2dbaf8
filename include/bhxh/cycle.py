"""One reporting cycle end to end, as plain steps the DAG wires together: expected units, validation of each
unit's latest submission, consolidation, completeness, and the messages that go out.

Steps exchange small references (unit ids, paths); the store is the source of truth.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bhxh.calendar import TZ, Catalogue, Cycle, Obligation, default_catalogue
from bhxh.notify import Message, to_unit
from bhxh.render import render, write_xlsx
from bhxh.reportforms import get_form
from bhxh.store import StoredFile, Submission, ValidationResult, utcnow
from bhxh.units import UnitRegistry, default_registry

if TYPE_CHECKING:  # intake imports pandas and pandera (~0.4 s): only a revalidation needs it at run time
    from bhxh.intake import IngestResult

STATES = ("on_time", "late", "invalid", "missing")
STATE_VI = {"on_time": "Đúng hạn", "late": "Trễ hạn", "invalid": "Không hợp lệ", "missing": "Chưa nộp"}


@dataclass
class ExpectedUnit:
    id: str
    name: str
    group: str
    email: str | None
    chat: str | None


@dataclass
class CyclePlan:
    """Who must report in a cycle and who receives, resolved on the cycle's deadline."""

    obligation: Obligation
    cycle: Cycle
    units: list[ExpectedUnit]
    recipient: ExpectedUnit | None
    flags: list[str] = field(default_factory=list)


def plan_cycle(obligation_id: str, key: str, catalogue: Catalogue | None = None, registry: UnitRegistry | None = None) -> CyclePlan:
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
    ob = catalogue.get(obligation_id)
    cycle = catalogue.cycle(obligation_id, key)
    day = cycle.effective_last_day
    seen: dict[str, ExpectedUnit] = {}
    flags: list[str] = []
    recipient_unit = registry.successor_on(ob.recipient, day)
    # The consolidating unit does not report to itself, even when it belongs to a reporting group.
    skip = {recipient_unit.id} if recipient_unit else set()
    for group in ob.reporters.groups:
        members = registry.members(group, day)
        if not members:
            flags.append(
                f"Nhóm đơn vị báo cáo '{group}' không còn đơn vị nào vào ngày {day:%d/%m/%Y}; cần chỉ định đơn vị kế thừa. "
                f"/ Reporting group '{group}' has no units on {day:%d/%m/%Y}; name a successor."
            )
        for unit in members:
            if unit.id not in skip:
                seen.setdefault(unit.id, _expected(unit, day))
    for unit_id in ob.reporters.units:
        unit = registry.successor_on(unit_id, day)
        if unit is None:
            flags.append(
                f"Đơn vị báo cáo '{unit_id}' không còn tồn tại và chưa có đơn vị kế thừa; cần chỉ định. "
                f"/ Reporting unit '{unit_id}' no longer exists and has no successor; name one."
            )
            continue
        seen.setdefault(unit.id, _expected(unit, day))
    if recipient_unit is None:
        flags.append(
            f"Đơn vị nhận báo cáo '{ob.recipient}' không còn tồn tại; cần chỉ định đơn vị kế thừa. "
            f"/ Recipient '{ob.recipient}' no longer exists; name a successor."
        )
    recipient = _expected(recipient_unit, day) if recipient_unit else None
    return CyclePlan(ob, cycle, list(seen.values()), recipient, flags)


def _expected(unit, day: dt.date) -> ExpectedUnit:
    return ExpectedUnit(unit.id, unit.name_on(day), unit.group, unit.email, unit.chat)


# -- validation of one unit -----------------------------------------------------------------------------
@dataclass
class UnitOutcome:
    unit_id: str
    state: str
    submission_id: int | None
    errors: list[dict]
    received_at: str | None = None


def validate_unit(
    session: Session,
    plan: CyclePlan,
    unit_id: str,
    catalogue: Catalogue | None = None,
    registry: UnitRegistry | None = None,
    *,
    revalidate: bool = False,
) -> UnitOutcome:
    """Decide the unit's state for the cycle from its submissions and record it in the store (idempotent).

    The latest valid version counts: on time if it came before due_at, late otherwise. With no valid
    version, the latest one's errors make the unit invalid; with none at all it is missing.

    Intake already checked each file against this very cycle (form, period, unit on the deadline, tasks), so
    its verdict is used as it stands; `revalidate` reads every stored file again, for when the rules (a form
    or the unit registry) changed after the files came in.
    """
    ob, cycle = plan.obligation, plan.cycle
    subs = list(
        session.scalars(
            select(Submission)
            .where(Submission.obligation_id == ob.id, Submission.cycle_key == cycle.key, Submission.unit_id == unit_id)
            .order_by(Submission.received_at.desc(), Submission.id.desc())
        )
    )
    outcome: UnitOutcome
    if not subs:
        outcome = UnitOutcome(unit_id, "missing", None, [])
    else:
        counted, errors = None, []
        for sub in subs:
            if revalidate or sub.status not in ("accepted", "rejected"):
                from bhxh.intake import check_content

                content = session.get(StoredFile, sub.sha256).content
                _parsed, found, _ = check_content(
                    content, sub.original_name, catalogue=catalogue, registry=registry, expect_obligation=ob.id, expect_cycle=cycle.key
                )
                problems = [p.as_dict() for p in found]
            else:
                problems = list(sub.errors or [])
            if not problems:
                counted = sub
                break
            if sub is subs[0]:
                errors = problems
        if counted is not None:
            received = counted.received_at
            state = "late" if cycle.is_late(received) else "on_time"
            outcome = UnitOutcome(unit_id, state, counted.id, [], _local(received))
        else:
            outcome = UnitOutcome(unit_id, "invalid", subs[0].id, errors, _local(subs[0].received_at))
    session.execute(
        delete(ValidationResult).where(
            ValidationResult.obligation_id == ob.id, ValidationResult.cycle_key == cycle.key, ValidationResult.unit_id == unit_id
        )
    )
    session.add(
        ValidationResult(
            obligation_id=ob.id, cycle_key=cycle.key, unit_id=unit_id, submission_id=outcome.submission_id,
            state=outcome.state, errors=outcome.errors or None, checked_at=utcnow(),
        )
    )
    session.flush()
    return outcome


def _local(value: dt.datetime) -> str:
    """A time as an operator reads it: 14:54 06/11/2019 (Asia/Ho_Chi_Minh)."""
    return value.astimezone(TZ).strftime("%H:%M %d/%m/%Y")


# -- consolidation --------------------------------------------------------------------------------------
@dataclass
class UnitRow:
    unit: ExpectedUnit
    state: str
    received_at: str | None
    values: dict[str, float | None]
    errors: list[dict]

    @property
    def state_vi(self) -> str:
        return STATE_VI[self.state]


@dataclass
class Consolidated:
    plan: CyclePlan
    rows: list[UnitRow]
    totals: dict[str, float | None]
    counts: dict[str, int]
    not_checked: list[str]
    task_rows: dict[str, list[dict]] = field(default_factory=dict)  # unit id -> its valid task-sheet rows
    previous_task_rows: dict[str, list[dict]] | None = None  # the same for the previous cycle, if any

    @property
    def expected(self) -> int:
        return len(self.rows)

    @property
    def reporting_rate(self) -> float:
        return 100.0 * (self.counts["on_time"] + self.counts["late"]) / self.expected if self.expected else 0.0

    @property
    def on_time_rate(self) -> float:
        return 100.0 * self.counts["on_time"] / self.expected if self.expected else 0.0


def consolidate(session: Session, plan: CyclePlan) -> Consolidated:
    """The cycle's consolidated table read from the store; totals use valid submissions only.

    An expected unit without a validation result (its check never ran or crashed) is reported as missing
    and listed in `not_checked`, so no unit can vanish from the report.
    """
    ob, cycle = plan.obligation, plan.cycle
    form = get_form(ob.schema_name)
    results = {
        r.unit_id: r
        for r in session.scalars(
            select(ValidationResult).where(ValidationResult.obligation_id == ob.id, ValidationResult.cycle_key == cycle.key)
        )
    }
    rows, not_checked = [], []
    task_rows: dict[str, list[dict]] = {}
    kinds = {i.code: i.kind for i in form.indicators}
    sums: dict[str, float] = dict.fromkeys(kinds, 0.0)
    seen: dict[str, int] = dict.fromkeys(kinds, 0)
    for unit in plan.units:
        result = results.get(unit.id)
        if result is None:
            not_checked.append(unit.id)
            rows.append(UnitRow(unit, "missing", None, {}, [{"code": "not_checked", "message_vi": "Chưa được kiểm tra trong kỳ này", "message_en": "Not checked in this cycle"}]))
            continue
        values: dict[str, float | None] = {}
        received = None
        if result.state in ("on_time", "late") and result.submission_id:
            sub = session.get(Submission, result.submission_id)
            received = _local(sub.received_at)
            if (sub.data or {}).get("tasks") is not None:
                task_rows[unit.id] = sub.data["tasks"]
            for rec in (sub.data or {}).get("rows", []):
                values[rec["code"]] = rec.get("actual")
                if rec.get("actual") is not None and rec["code"] in sums:
                    sums[rec["code"]] += float(rec["actual"])
                    seen[rec["code"]] += 1
        elif result.submission_id:
            sub = session.get(Submission, result.submission_id)
            received = _local(sub.received_at) if sub else None
        rows.append(UnitRow(unit, result.state, received, values, result.errors or []))
    totals: dict[str, float | None] = {}
    for code, kind in kinds.items():
        if kind == "percent":
            totals[code] = sums[code] / seen[code] if seen[code] else None
        else:
            totals[code] = sums[code] if seen[code] else None
    counts = {s: sum(1 for r in rows if r.state == s) for s in STATES}
    previous = _previous_task_rows(session, plan) if ob.plan else None
    return Consolidated(plan, rows, totals, counts, not_checked, task_rows, previous)


def _previous_task_rows(session: Session, plan: CyclePlan) -> dict[str, list[dict]] | None:
    """The valid task-sheet rows of the cycle before this one (None for a first or one-off cycle)."""
    ob, cycle = plan.obligation, plan.cycle
    keys = ob.cycle_keys(until_year=plan.cycle.period_end.year + 1)
    if cycle.key not in keys or keys.index(cycle.key) == 0:
        return None
    previous_key = keys[keys.index(cycle.key) - 1]
    out: dict[str, list[dict]] = {}
    for result in session.scalars(
        select(ValidationResult).where(
            ValidationResult.obligation_id == ob.id, ValidationResult.cycle_key == previous_key,
            ValidationResult.state.in_(("on_time", "late")),
        )
    ):
        sub = session.get(Submission, result.submission_id) if result.submission_id else None
        if sub is not None and (sub.data or {}).get("tasks") is not None:
            out[result.unit_id] = sub.data["tasks"]
    return out


def completeness(session: Session, plan: CyclePlan) -> dict:
    """Who is missing or invalid, read from the store (never from upstream task results)."""
    cons = consolidate(session, plan)
    return {
        "expected": cons.expected,
        "counts": cons.counts,
        "missing": [r.unit.id for r in cons.rows if r.state == "missing"],
        "invalid": {r.unit.id: r.errors for r in cons.rows if r.state == "invalid"},
        "not_checked": cons.not_checked,
        "flags": plan.flags,
    }


# -- rendering ------------------------------------------------------------------------------------------
def render_reports(cons: Consolidated, out_dir: Path, comparison=None) -> dict[str, str]:
    """The consolidated report as HTML and XLSX (and, given the comparison with the targets and the previous
    cycle from `bhxh.comparison.compare`, as a DOCX administrative document) under out_dir/<obligation>/<cycle>/."""
    plan = cons.plan
    form = get_form(plan.obligation.schema_name)
    target = out_dir / plan.obligation.id / plan.cycle.key
    target.mkdir(parents=True, exist_ok=True)
    context = {**_report_context(cons, form), "comparison": comparison}
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
        from bhxh.plans import load_plans
        from bhxh.task_consolidation import consolidate_tasks, frames_from_records, render_html, xlsx_sheets

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
        from bhxh.docx_report import Signer, render_docx  # imports cycle.py itself

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


def _report_context(cons: Consolidated, form) -> dict:
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


# -- messages -------------------------------------------------------------------------------------------
def cycle_messages(cons: Consolidated, report_paths: dict[str, str]) -> list[Message]:
    """Acknowledgements, error lists and overdue notices to units; the report and a chat summary upward."""
    plan = cons.plan
    ob, cycle = plan.obligation, plan.cycle
    base = {"obligation": ob, "cycle": cycle, "recipient": plan.recipient}
    out: list[Message] = []
    for row in cons.rows:
        template = {"on_time": "acknowledgement", "late": "acknowledgement", "invalid": "errors", "missing": "overdue"}[row.state]
        # A missing unit's notice shares its key with the reminder DAG's first overdue notice, so the unit gets
        # one notice on the day after the deadline, whichever DAG comes first.
        kind = "overdue_1" if row.state == "missing" else template
        ctx = {**base, "unit": row.unit, "row": row}
        subject = render(f"email/{template}.subject.j2", **ctx).strip()
        body = render(f"email/{template}.txt.j2", **ctx)
        if row.unit.email:
            out.append(Message(ob.id, cycle.key, row.unit.id, kind, "email", row.unit.email, subject, body))
    if plan.recipient:
        ctx = {**_report_context(cons, get_form(ob.schema_name)), "report_paths": report_paths}
        if plan.recipient.email:
            out.append(
                Message(
                    ob.id, cycle.key, plan.recipient.id, "consolidated", "email", plan.recipient.email,
                    render("email/consolidated.subject.j2", **ctx).strip(), render("email/consolidated.html.j2", **ctx),
                    body_format="html",
                    attachments=tuple(report_paths[k] for k in ("xlsx", "docx", "html") if k in report_paths),
                )
            )
        if plan.recipient.chat:
            out.append(
                Message(ob.id, cycle.key, plan.recipient.id, "summary", "chat", plan.recipient.chat,
                        render("chat/summary.subject.j2", **ctx).strip(), render("chat/summary.txt.j2", **ctx))
            )
    return out


def problems_text(errors: list[dict]) -> str:
    # The messages already start with the cell they name (sheet, row, column).
    return "\n".join(f"- {e['message_vi']} / {e['message_en']}" for e in errors)


def approval_messages(plan: CyclePlan, report_paths: dict[str, str]) -> list[Message]:
    """The request to the consolidating department to have the report approved ("trình Lãnh đạo Ngành")."""
    ob, cycle = plan.obligation, plan.cycle
    registry = default_registry()
    dept = registry.successor_on(ob.department, cycle.effective_last_day)
    if dept is None:
        return []
    ctx = {"obligation": ob, "cycle": cycle, "recipient": plan.recipient, "department": dept, "report_paths": report_paths}
    subject = render("email/approval_request.subject.j2", **ctx).strip()
    body = render("email/approval_request.txt.j2", **ctx)
    return to_unit(ob.id, cycle.key, dept, "approval_request", subject, {"email": body, "chat": body})


def intake_messages(results: list[IngestResult], catalogue: Catalogue | None = None, registry: UnitRegistry | None = None) -> list[Message]:
    """The answer to each file a unit sent: accepted (with on time / late) or the list of errors."""
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
    out: list[Message] = []
    for result in results:
        if not result.unit or result.unit not in registry or result.obligation not in catalogue.obligations:
            continue  # nobody to answer: the file stays in the store with its reasons
        try:
            cycle = catalogue.cycle(result.obligation, result.period or "")
        except Exception:  # a period the obligation never had: answer without cycle details
            cycle = None
        unit = registry.get(result.unit)
        if not unit.email:
            continue
        ob = catalogue.get(result.obligation)
        ctx = {"obligation": ob, "cycle": cycle, "unit": unit, "result": result, "period": result.period}
        kind = f"received_{result.submission_id}"
        out.append(
            Message(ob.id, result.period or "-", unit.id, kind, "email", unit.email,
                    render("email/received.subject.j2", **ctx).strip(), render("email/received.txt.j2", **ctx))
        )
    return out

"""The messages of a cycle and of the intake ("thư trả lời, thông báo"): acknowledgements, error lists and
overdue notices to units, the report and a chat summary upward, the approval request, the answer to each file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.expected import CyclePlan
from bhxh.calendar.forms import get_form
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.notify.outbox import Message, to_unit
from bhxh.reports.consolidation import Consolidated
from bhxh.reports.documents import report_context
from bhxh.templating import render

if TYPE_CHECKING:  # intake imports pandas and pandera (~0.4 s): only a revalidation needs it at run time
    from bhxh.intake.submission import IngestResult


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
        ctx = {**report_context(cons, get_form(ob.schema_name)), "report_paths": report_paths}
        if plan.recipient.email:
            out.append(
                Message(
                    ob.id, cycle.key, plan.recipient.id, "consolidated", "email", plan.recipient.email,
                    render("email/consolidated.subject.j2", **ctx).strip(), render("email/consolidated.html.j2", **ctx),
                    body_format="html",
                    attachments=tuple(report_paths[k] for k in ("pdf", "xlsx", "docx", "html") if k in report_paths),
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

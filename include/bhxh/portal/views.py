"""What the portal shows a unit ("trang của đơn vị"): the cycles it must report in that are open (from the call
for reports to the last overdue notice, as the reminders count them), each with both deadlines, the legal
wording and the unit's current state; the unit's pre-filled template; the history of its versions and the
state of each. Read from the calendar and the store only; a unit only ever sees its own rows.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import TZ, Cycle
from bhxh.calendar.expected import CyclePlan, plan_cycle
from bhxh.calendar.forms import file_name, get_form
from bhxh.calendar.obligations import Obligation
from bhxh.intake.signatures import STATE_TEXT
from bhxh.notify.reminders import open_cycles
from bhxh.store.models import Parcel, Submission

HISTORY_ROWS = 100


@lru_cache(maxsize=512)
def _plan(obligation_id: str, key: str) -> CyclePlan:
    return plan_cycle(obligation_id, key)


def expected_in(unit_id: str, obligation_id: str, key: str) -> CyclePlan | None:
    """The cycle's plan if the unit must report in it, else None (also for an obligation or cycle that does not exist)."""
    try:
        plan = _plan(obligation_id, key)
    except Exception:  # an unknown obligation or a key the calendar cannot build: nothing to report there
        return None
    return plan if any(u.id == unit_id for u in plan.units) else None


@lru_cache(maxsize=8)
def _open_on(day: dt.date) -> tuple[tuple[str, str], ...]:
    return tuple((w.cycle.obligation_id, w.cycle.key) for w in open_cycles(day, default_catalogue()))


@dataclass
class OpenCycle:
    obligation: Obligation
    cycle: Cycle
    unit_name: str
    state: str  # on_time | late | invalid | not_yet_due | missing
    latest: Submission | None

    @property
    def key(self) -> str:
        return f"{self.obligation.id}/{self.cycle.key}"

    @property
    def latest_local(self) -> str | None:
        return self.latest.received_at.astimezone(TZ).strftime("%H:%M %d/%m/%Y") if self.latest else None


STATE_VI = {"on_time": "Đã nộp, đúng hạn", "late": "Đã nộp, trễ hạn", "invalid": "Đã nộp, chưa hợp lệ",
            "not_yet_due": "Chưa nộp (chưa đến hạn)", "missing": "Chưa nộp, đã quá hạn"}


def unit_state(session: Session, unit_id: str, cycle: Cycle, now: dt.datetime) -> tuple[str, Submission | None]:
    """The unit's state in the cycle as the status board computes it before the cycle run: the latest valid version."""
    subs = list(session.scalars(
        select(Submission).where(Submission.obligation_id == cycle.obligation_id, Submission.cycle_key == cycle.key,
                                 Submission.unit_id == unit_id).order_by(Submission.received_at.desc(), Submission.id.desc())
    ))
    accepted = [s for s in subs if s.status == "accepted"]
    if accepted:
        return ("late" if cycle.is_late(accepted[0].received_at) else "on_time"), accepted[0]
    if subs:
        return "invalid", subs[0]
    return ("not_yet_due" if cycle.due_at > now else "missing"), None


def open_for(session: Session, unit_id: str, now: dt.datetime, *, also: tuple[str, str] | None = None) -> list[OpenCycle]:
    """The open cycles the unit reports in, soonest deadline first; `also`: a cycle its link names, open or not."""
    keys = list(_open_on(now.astimezone(TZ).date()))
    if also and also not in keys:
        keys.insert(0, also)
    out = []
    for obligation_id, key in keys:
        plan = expected_in(unit_id, obligation_id, key)
        if plan is None:
            continue
        unit = next(u for u in plan.units if u.id == unit_id)
        state, latest = unit_state(session, unit_id, plan.cycle, now)
        out.append(OpenCycle(plan.obligation, plan.cycle, unit.name, state, latest))
    return sorted(out, key=lambda o: (o.cycle.effective_last_day, o.obligation.id))


@dataclass
class Version:
    """One row of the unit's history: a version it sent (or a parcel held or refused), with its state."""

    received_at: dt.datetime
    obligation_id: str | None
    cycle_key: str | None
    channel: str
    receipt_number: str | None
    state_vi: str
    state_en: str
    errors: int
    signature: str | None  # the signature state's Vietnamese text
    names: str

    @property
    def received_local(self) -> str:
        return self.received_at.astimezone(TZ).strftime("%H:%M %d/%m/%Y")


def history(session: Session, unit_id: str, catalogue: Catalogue | None = None) -> list[Version]:
    catalogue = catalogue or default_catalogue()
    subs = list(session.scalars(
        select(Submission).where(Submission.unit_id == unit_id).order_by(Submission.received_at.desc(), Submission.id.desc()).limit(HISTORY_ROWS)
    ))
    parcels = list(session.scalars(select(Parcel).where(Parcel.unit_id == unit_id).order_by(Parcel.received_at.desc()).limit(HISTORY_ROWS)))
    by_submission: dict[int, Parcel] = {}
    for p in parcels:
        if p.submission_id is not None:
            by_submission.setdefault(p.submission_id, p)
    rows = []
    for s in subs:
        parcel = by_submission.get(s.id)
        if s.status == "accepted":
            vi, en = ("Hợp lệ, trễ hạn", "valid, late") if s.late else ("Hợp lệ, đúng hạn", "valid, on time")
        else:
            vi, en = "Không hợp lệ", "not valid"
        rows.append(Version(s.received_at, s.obligation_id, s.cycle_key, parcel.channel if parcel else "inbox",
                            parcel.receipt_number if parcel else None, vi, en, len(s.errors or []),
                            STATE_TEXT[parcel.signature_state][0] if parcel and parcel.signature_state else None, s.original_name))
    for p in parcels:
        if p.state == "held":
            rows.append(Version(p.received_at, p.obligation_id, p.cycle_key, p.channel, p.receipt_number,
                                "Đang lưu giữ (địa chỉ gửi chưa đăng ký), chưa tính", "held: sender not registered, not counted",
                                0, STATE_TEXT[p.signature_state][0] if p.signature_state else None, p.sender or ""))
    return sorted(rows, key=lambda r: r.received_at, reverse=True)[:HISTORY_ROWS]


def template_xlsx(plan: CyclePlan, unit_id: str) -> tuple[str, bytes]:
    """The unit's pre-filled workbook for the cycle, as `make templates --cycle K --unit U` writes it
    (bhxh.cli.templates.write_for_unit: its block filled in, the form's rows, its task sheets, the instructions
    and the unit codes; the portal, beside the command line in the layers, calls the same forms_xlsx writer)."""
    from bhxh.calendar.plans.model import load_plans
    from bhxh.calendar.plans.task_form import COOP_SHEET, LEAD_SHEET, STATUSES
    from bhxh.intake.forms_xlsx import form_rows, write_report_xlsx
    from bhxh.intake.reading import MAX_FILE_BYTES

    ob, cycle = plan.obligation, plan.cycle
    form = get_form(ob.schema_name)
    unit = next(u for u in plan.units if u.id == unit_id)
    name = file_name(ob.id, cycle.key, unit_id)
    tasks = (load_plans()[ob.plan], unit_id, cycle.effective_last_day) if ob.plan else None
    guide = {"obligation": ob, "period_hint": cycle.key, "max_mb": MAX_FILE_BYTES // 1024 // 1024, "lead_sheet": LEAD_SHEET,
             "coop_sheet": COOP_SHEET, "statuses": list(STATUSES), "cycle": cycle, "recipient": plan.recipient, "file_name": name}
    with tempfile.TemporaryDirectory(prefix="bhxh-portal-") as tmp:
        path = write_report_xlsx(Path(tmp) / name, form, {"unit": unit_id, "obligation": ob.id, "period": cycle.key},
                                 form_rows(form), unit_name=unit.name, tasks=tasks,
                                 units=[(u.id, u.name, u.group) for u in plan.units], guide=guide)
        return name, path.read_bytes()

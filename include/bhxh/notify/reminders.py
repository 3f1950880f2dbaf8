"""Reminders ("nhắc hạn báo cáo"): which messages the calendar owes on a given day.

For every open cycle of every obligation, on working days only: the call for reports when the cycle opens,
reminders before the effective deadline, overdue notices after it, and on the last overdue day a summary of
who is still missing to the consolidating department. The offsets are data (`Obligation.reminders`). Only
units without an accepted submission are reminded. The outbox's dedup key makes each message go out once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bhxh.calendar.catalogue import Catalogue
from bhxh.calendar.cycles import TZ, Cycle
from bhxh.calendar.expected import CyclePlan, ExpectedUnit, plan_cycle
from bhxh.calendar.forms import META_SHEET, get_form
from bhxh.calendar.obligations import Obligation, parse_cycle_key
from bhxh.calendar.units import UnitRegistry
from bhxh.calendar.workdays import WorkdayCalendar, default_workdays
from bhxh.notify.outbox import Message, to_unit
from bhxh.store.models import Submission
from bhxh.templating import render

# Message kind -> template stem (templates/email/<stem>.*.j2 and templates/chat/<stem>.txt.j2).
TEMPLATE_OF = {
    "call": "call",
    "reminder": "reminder",
    "overdue": "overdue_notice",
    "missing_summary": "missing_summary",
}


@dataclass(frozen=True)
class CycleWindow:
    """The days a cycle talks to people: from the call ("ngày phát động") to the last overdue notice."""

    cycle: Cycle
    call_day: dt.date
    before: dict[int, dt.date]  # working days before the effective deadline -> day of the reminder
    after: dict[int, dt.date]  # working days after it -> day of the overdue notice
    last_day: dt.date

    def kinds_on(self, day: dt.date) -> list[tuple[str, int | None]]:
        """(kind family, offset) due on `day`, e.g. [("reminder", 3)]."""
        out: list[tuple[str, int | None]] = []
        if day == self.call_day:
            out.append(("call", None))
        out += [("reminder", n) for n, d in sorted(self.before.items(), reverse=True) if d == day]
        out += [("overdue", n) for n, d in sorted(self.after.items()) if d == day]
        return out


def cycle_window(ob: Obligation, cycle: Cycle, workdays: WorkdayCalendar | None = None) -> CycleWindow:
    workdays = workdays or default_workdays()
    rem, eff = ob.reminders, cycle.effective_last_day
    before = {n: workdays.add_working_days(eff, -n) for n in rem.before_working_days}
    after = {n: workdays.add_working_days(eff, n) for n in rem.after_working_days}
    call_day = workdays.add_working_days(eff, -rem.call_working_days_before)
    last_day = max(after.values()) if after else eff
    return CycleWindow(cycle, call_day, before, after, last_day)


def open_cycles(
    day: dt.date, catalogue: Catalogue, workdays: WorkdayCalendar | None = None
) -> list[CycleWindow]:
    """Every cycle, of every obligation, whose window (call day .. last overdue day) contains `day`."""
    out = []
    for ob in catalogue:
        for key in ob.cycle_keys(until_year=day.year + 2):
            # A window spans a few weeks around the deadline, itself at most a year off the key's year.
            if abs(parse_cycle_key(key, ob.recurrence)[0] - day.year) > 2:
                continue
            window = cycle_window(ob, catalogue.cycle(ob.id, key), workdays)
            if window.call_day <= day <= window.last_day:
                out.append(window)
    return sorted(out, key=lambda w: (w.cycle.effective_last_day, w.cycle.obligation_id, w.cycle.key))


def accepted_units(session: Session, obligation_id: str, cycle_key: str) -> set[str]:
    """Units that have sent a valid (accepted) report for the cycle."""
    return set(
        session.scalars(
            select(Submission.unit_id).where(
                Submission.obligation_id == obligation_id,
                Submission.cycle_key == cycle_key,
                Submission.status == "accepted",
            )
        )
    )


def is_backfill(day: dt.date, today: dt.date, workdays: WorkdayCalendar | None = None) -> bool:
    """True when `day` is more than one working day before `today` (a backfilled or caught-up run)."""
    workdays = workdays or default_workdays()
    return day < workdays.add_working_days(today, -1)


def messages_due(
    day: dt.date,
    *,
    catalogue: Catalogue,
    registry: UnitRegistry,
    session: Session,
    include_past: bool = False,
    today: dt.date | None = None,
    workdays: WorkdayCalendar | None = None,
    links: Callable[[str, str, str], str] | None = None,
) -> list[Message]:
    """The calls, reminders, overdue notices and missing summaries owed on `day` (empty on non-working days).

    A run for a day long gone (more than one working day before `today`) sends nothing unless `include_past`:
    backfilling a past period must not remind units about deadlines long passed. `links(unit, obligation,
    cycle)`: the unit's personal portal link, written into its e-mails (bhxh.intake.links; never into chat).
    """
    workdays = workdays or default_workdays()
    today = today or dt.datetime.now(TZ).date()
    if not workdays.is_working_day(day):
        return []
    if not include_past and is_backfill(day, today, workdays):
        return []
    out: list[Message] = []
    for window in open_cycles(day, catalogue, workdays):
        kinds = window.kinds_on(day)
        summary = day == window.last_day and bool(window.after)
        if not kinds and not summary:
            continue
        cycle = window.cycle
        plan = plan_cycle(cycle.obligation_id, cycle.key, catalogue, registry)
        done = accepted_units(session, cycle.obligation_id, cycle.key)
        pending = [u for u in plan.units if u.id not in done]
        for family, offset in kinds:
            kind = family if offset is None else f"{family}_{offset}"
            for unit in pending:
                out += _unit_messages(plan, unit, family, kind, offset, links)
        if summary and pending and plan.recipient is not None:
            out += _summary_messages(plan, pending, day)
    return out


def _context(plan: CyclePlan, **extra) -> dict:
    ob, cycle = plan.obligation, plan.cycle
    form = get_form(ob.schema_name)
    return {
        "obligation": ob,
        "cycle": cycle,
        "recipient": plan.recipient,
        "form": form,
        "meta_sheet": META_SHEET,
        **extra,
    }


def _unit_messages(
    plan: CyclePlan, unit: ExpectedUnit, family: str, kind: str, offset: int | None,
    links: Callable[[str, str, str], str] | None = None,
) -> list[Message]:
    ob, cycle = plan.obligation, plan.cycle
    form = get_form(ob.schema_name)
    ctx = _context(
        plan,
        unit=unit,
        offset=offset,
        file_name=f"{ob.id}__{cycle.key}__{unit.id}.xlsx",
        required=[i for i in form.indicators if unit.group in i.required_for],
    )
    stem = TEMPLATE_OF[family]
    subject = render(f"email/{stem}.subject.j2", **ctx).strip()
    # the personal link is a credential: only in the e-mail to the unit's own address, never in a chat channel
    portal_link = links(unit.id, ob.id, cycle.key) if links else None
    bodies = {"email": render(f"email/{stem}.txt.j2", **ctx, portal_link=portal_link), "chat": render(f"chat/{stem}.txt.j2", **ctx)}
    return to_unit(ob.id, cycle.key, unit, kind, subject, bodies)


def _summary_messages(plan: CyclePlan, pending: list[ExpectedUnit], day: dt.date) -> list[Message]:
    ob, cycle, to = plan.obligation, plan.cycle, plan.recipient
    assert to is not None
    ctx = _context(plan, missing=pending, expected=len(plan.units), day=day, flags=plan.flags)
    subject = render("email/missing_summary.subject.j2", **ctx).strip()
    bodies = {"email": render("email/missing_summary.txt.j2", **ctx), "chat": render("chat/missing_summary.txt.j2", **ctx)}
    return to_unit(ob.id, cycle.key, to, "missing_summary", subject, bodies)

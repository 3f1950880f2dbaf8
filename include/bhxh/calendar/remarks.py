"""What a reader should know about a cycle's dates, beside the dates themselves: the day a deadline moved from,
the other reading of "vào tháng M", a cut-off moved by Điều 8 khoản 5, and the dates that depend on a day off whose
legal basis is pending (24/11 from 2026). Rendered from templates/calendar/*.j2 for the calendar, the ICS file and
the DAG documentation alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bhxh.calendar.cycles import Cycle, build_cycle, dated_vi
from bhxh.calendar.obligations import Obligation
from bhxh.calendar.workdays import WorkdayCalendar, default_workdays
from bhxh.templating import render


@dataclass(frozen=True)
class PendingDependency:
    """Dates of a cycle that would differ if the pending days off (workdays.yaml, `pending_holidays`) were
    working days: which pending days, and which dates ("hạn thực tế", "ngày nhắc", ...)."""

    days: tuple[dt.date, ...]
    names: tuple[str, ...]
    affects: tuple[str, ...]  # "effective_last_day", "period", "other_reading_day", "reminders"


def pending_dependency(ob: Obligation, cycle: Cycle, workdays: WorkdayCalendar | None = None) -> PendingDependency | None:
    """Where `cycle` depends on a day off whose legal basis is pending (24/11 from 2026): its deadline, cut-off,
    other reading or reminder days computed again with the pending days as working days; None if nothing moves."""
    workdays = workdays or default_workdays()
    if not workdays.pending:
        return None
    other = build_cycle(ob, cycle.key, workdays.without_pending())
    affects = []
    if other.effective_last_day != cycle.effective_last_day:
        affects.append("effective_last_day")
    if (other.period_start, other.period_end) != (cycle.period_start, cycle.period_end):
        affects.append("period")
    if other.other_reading_day != cycle.other_reading_day:
        affects.append("other_reading_day")
    offsets = [-n for n in (ob.reminders.call_working_days_before, *ob.reminders.before_working_days)]
    offsets += list(ob.reminders.after_working_days)
    relaxed = workdays.without_pending()
    if any(
        workdays.add_working_days(cycle.effective_last_day, n) != relaxed.add_working_days(other.effective_last_day, n)
        for n in offsets
    ):
        affects.append("reminders")
    if not affects:
        return None
    first = workdays.add_working_days(cycle.effective_last_day, min(offsets + [0]) - 1) - dt.timedelta(days=31)
    last = workdays.add_working_days(cycle.effective_last_day, max(offsets + [0]) + 1)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    found = [(d, p.name) for d in days if (p := workdays.pending_on(d))]
    return PendingDependency(tuple(d for d, _ in found), tuple(n for _, n in found), tuple(affects))


REMARKS = ("moved", "other_reading", "cut_off", "pending")


def cycle_remarks(ob: Obligation, cycle: Cycle, workdays: WorkdayCalendar | None = None) -> dict[str, str]:
    """The remarks of a cycle that apply, by kind (REMARKS), each one sentence in Vietnamese."""
    pending = pending_dependency(ob, cycle, workdays)
    out = {}
    for kind in REMARKS:
        text = " ".join(render(f"calendar/{kind}.txt.j2", cycle=cycle, pending=pending, dated=dated_vi).split())
        if text:
            out[kind] = text
    return out

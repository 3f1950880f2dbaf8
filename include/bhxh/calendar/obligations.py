"""Obligations ("nghĩa vụ báo cáo") as the catalogue states them: legal basis, reporters, recipient,
recurrence, deadline rule and reporting period; and the cycle keys of each (2019, 2019-H1, 2019-Q3).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bhxh.errors import CalendarError

# The horizon the calendar reasons about when an obligation has no last cycle.
DEFAULT_HORIZON_YEAR = 2030

Recurrence = Literal["yearly", "half-yearly", "quarterly", "once"]
MONTHS_PER_CYCLE = {"yearly": 12, "half-yearly": 6, "quarterly": 3}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalBasis(_Strict):
    document: str
    date: dt.date
    part: str
    wording: str  # the seed's words (tests/calendar/test_quotations.py finds each in the seed text)
    context: str | None = None  # the heading the wording sits under, verbatim (a plan's "Mục tiêu" row)


class Reporters(_Strict):
    groups: tuple[str, ...] = ()
    units: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Reporters:
        if not self.groups and not self.units:
            raise ValueError("reporters needs at least one group or unit")
        return self


class Deadline(_Strict):
    """How the legal text states the deadline."""

    rule: Literal["before", "no_later_than", "during_month"]
    month: int | None = None
    day: int | None = None
    year_offset: int = 0
    date: dt.date | None = None  # one-off obligations
    wording: str | None = None  # the text's own words on the timing, when not in legal_basis.wording (verbatim)
    interpretation: str | None = None  # set when the day is ours, not the text's (the text names none)


class PeriodEnd(_Strict):
    month: int
    day: int
    year_offset: int = 0


class PeriodRule(_Strict):
    months: int | None = None
    end: PeriodEnd | dt.date
    start: dt.date | None = None  # one-off obligations
    interpretation: str | None = None


class Reminders(_Strict):
    call_working_days_before: int = 20
    before_working_days: tuple[int, ...] = (7, 3, 1)
    after_working_days: tuple[int, ...] = (1, 3)


class Approval(_Strict):
    by: str
    wording: str


class Variant(_Strict):
    """From cycle `from_cycle` on, the obligation rests on another row of its plan (3035/KH-BHXH's "Đến năm 2030"
    rows after the 2025 ones): its own legal basis, reporters and cooperating units. Deadlines and periods stay
    the obligation's own, so the cycles stay contiguous."""

    from_cycle: str | int
    from_plan_task: str | None = None
    legal_basis: LegalBasis
    reporters: Reporters | None = None
    cooperating: tuple[str, ...] | None = None


class Note(_Strict):
    """A duty the seeds state that is not a calendar entry (on request, on an event, a report product with no
    time, a one-off before the calendar starts): kept in the catalogue, with its words, so a reader sees it was
    read and why it is not scheduled."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    document: str
    part: str
    wording: str  # the seed's words (checked like every legal wording)
    kind: Literal["on_request", "event", "no_time", "one_off"]
    why_vi: str
    why_en: str
    obligation: str | None = None  # the obligation that schedules the rest of the same sentence, if any


class Obligation(_Strict):
    """One legal reporting obligation ("nghĩa vụ báo cáo") of the catalogue."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title_vi: str
    title_en: str
    legal_basis: LegalBasis
    reporters: Reporters
    recipient: str
    also_to: tuple[str, ...] = ()
    department: str
    recurrence: Recurrence
    cycle_label: Literal["period", "plan_year"] = "period"
    deadline: Deadline
    period: PeriodRule
    first_cycle: str | int | None = None
    last_cycle: str | int | None = None
    cycles_interpretation: str | None = None  # why the first/last cycle is what it is, where that is ours
    reminders: Reminders = Reminders()
    approval: Approval | None = None
    template: str
    schema_name: str = Field(alias="schema")
    feeds: str | None = None
    plan: str | None = None  # the plan (bhxh.calendar.plans) a plan-based report reports on
    from_plan_task: str | None = None  # the plan task this obligation is derived from (see resolve_plan_task)
    # Units that cooperate ("phối hợp") without reporting: shown with the cycle (unit ids or `group:<name>`).
    cooperating: tuple[str, ...] = ()
    # "vào tháng M" / "tháng M hằng năm" whose last day is not a working day: `next_working_day` (the general
    # rule, Bộ luật Dân sự 2015 Điều 148) or `last_working_day_of_month` (the deadline stays inside the month).
    during_month_reading: Literal["next_working_day", "last_working_day_of_month"] = "next_working_day"
    variants: tuple[Variant, ...] = ()
    # Whether the signed report ("báo cáo có chữ ký số") must come with the appendix: required (missing or broken is
    # an error), recommended (its state is shown on the receipt), not_asked (issue 17; bhxh.intake.signatures).
    signature: Literal["required", "recommended", "not_asked"] = "recommended"

    @model_validator(mode="after")
    def _consistent(self) -> Obligation:
        if self.recurrence == "once":
            if self.deadline.date is None or self.period.start is None or not isinstance(self.period.end, dt.date):
                raise ValueError("a one-off obligation needs deadline.date, period.start and period.end as dates")
        else:
            if self.first_cycle is None:
                raise ValueError("a recurring obligation needs first_cycle")
            if self.deadline.rule != "during_month" and self.deadline.day is None:
                raise ValueError("deadline.day is required unless the rule is during_month")
            if self.deadline.month is None or self.period.months is None or isinstance(self.period.end, dt.date):
                raise ValueError("a recurring obligation needs deadline.month, period.months and period.end {month, day}")
        starts = [parse_cycle_key(str(v.from_cycle), self.recurrence) for v in self.variants]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ValueError("variants must be in order of from_cycle, one per cycle")
        return self

    def for_cycle(self, key: str) -> Obligation:
        """The obligation as it stands for cycle `key`: the last variant starting at or before it applied."""
        if not self.variants:
            return self
        at = parse_cycle_key(key, self.recurrence)
        chosen = [v for v in self.variants if parse_cycle_key(str(v.from_cycle), self.recurrence) <= at]
        if not chosen:
            return self
        v = chosen[-1]
        update: dict = {"legal_basis": v.legal_basis}
        if v.reporters is not None:
            update["reporters"] = v.reporters
        if v.cooperating is not None:
            update["cooperating"] = v.cooperating
        return self.model_copy(update=update)

    # -- cycles -----------------------------------------------------------------------------------------
    def cycle_keys(self, until_year: int | None = None) -> list[str]:
        """Every cycle key from the first to the last (or the horizon), in order."""
        if self.recurrence == "once":
            return [str(self.deadline.date.year)]  # type: ignore[union-attr]
        first = parse_cycle_key(str(self.first_cycle), self.recurrence)
        last_year = until_year or DEFAULT_HORIZON_YEAR
        last = (
            parse_cycle_key(str(self.last_cycle), self.recurrence)
            if self.last_cycle is not None
            else (last_year, _parts(self.recurrence))
        )
        keys = []
        year, part = first
        while (year, part) <= last:
            keys.append(format_cycle_key(year, part, self.recurrence))
            part += 1
            if part > _parts(self.recurrence):
                year, part = year + 1, 1
        return keys


def _parts(recurrence: str) -> int:
    return {"yearly": 1, "half-yearly": 2, "quarterly": 4}[recurrence]


_KEY = re.compile(r"^(\d{4})(?:-(Q|H)(\d))?$")


def parse_cycle_key(key: str, recurrence: str) -> tuple[int, int]:
    match = _KEY.match(str(key))
    if not match:
        raise CalendarError(
            f"Mã kỳ báo cáo '{key}' không hợp lệ (ví dụ: 2019, 2019-H1, 2019-Q3)",
            f"Invalid cycle key '{key}' (e.g. 2019, 2019-H1, 2019-Q3)",
            code="cycle_key",
        )
    year, letter, num = int(match[1]), match[2], int(match[3] or 1)
    expected = {"yearly": None, "once": None, "half-yearly": "H", "quarterly": "Q"}[recurrence]
    out_of_range = recurrence != "once" and not 1 <= num <= _parts(recurrence)
    if letter != expected or out_of_range:
        raise CalendarError(
            f"Mã kỳ '{key}' không khớp chu kỳ {recurrence}",
            f"Cycle key '{key}' does not match recurrence {recurrence}",
            code="cycle_key",
        )
    return year, num


def format_cycle_key(year: int, part: int, recurrence: str) -> str:
    if recurrence in ("yearly", "once"):
        return str(year)
    return f"{year}-{'H' if recurrence == 'half-yearly' else 'Q'}{part}"

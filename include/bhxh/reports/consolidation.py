"""Consolidation ("tổng hợp") of a cycle from the store: every expected unit with its state, values and
errors, totals from valid submissions only, and who is missing or invalid (completeness).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bhxh.calendar.cycles import TZ
from bhxh.calendar.expected import CyclePlan, ExpectedUnit
from bhxh.calendar.forms import get_form
from bhxh.reports.states import STATE_VI, STATES
from bhxh.store.models import Submission, ValidationResult

if TYPE_CHECKING:  # intake imports pandas and pandera (~0.4 s): only a revalidation needs it at run time
    pass


def local_time(value: dt.datetime) -> str:
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
            received = local_time(sub.received_at)
            if (sub.data or {}).get("tasks") is not None:
                task_rows[unit.id] = sub.data["tasks"]
            for rec in (sub.data or {}).get("rows", []):
                values[rec["code"]] = rec.get("actual")
                if rec.get("actual") is not None and rec["code"] in sums:
                    sums[rec["code"]] += float(rec["actual"])
                    seen[rec["code"]] += 1
        elif result.submission_id:
            sub = session.get(Submission, result.submission_id)
            received = local_time(sub.received_at) if sub else None
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

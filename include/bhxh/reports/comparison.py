"""Comparison ("so sánh") of a cycle's consolidated indicators with the plan's targets and the previous cycle.

For each unit and indicator: the value, the target the unit is heading for (the nearest milestone at or after
the cycle's year), the gap to it, the unit's value in the previous cycle and the change. Plain data for the
templates (HTML, XLSX, DOCX); the previous cycle is read from the store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bhxh.calendar.forms import Indicator, get_form
from bhxh.reports.consolidation import Consolidated
from bhxh.store.models import Submission, ValidationResult

VALID = ("on_time", "late")


@dataclass
class Cell:
    """One indicator of one unit (or of the whole cycle)."""

    value: float | None
    target: float | None
    target_year: int | None
    previous: float | None

    @property
    def gap(self) -> float | None:
        """value - target (percentage points for a percent): negative means below the target."""
        return None if self.value is None or self.target is None else self.value - self.target

    @property
    def change(self) -> float | None:
        """value - previous cycle's value."""
        return None if self.value is None or self.previous is None else self.value - self.previous

    def as_dict(self) -> dict:
        return {**asdict(self), "gap": self.gap, "change": self.change}


@dataclass
class IndicatorInfo:
    code: str
    name: str
    measure: str
    kind: str
    target: float | None
    target_year: int | None


@dataclass
class UnitComparison:
    unit_id: str
    unit_name: str
    state: str
    previous_state: str | None
    cells: dict[str, Cell]


@dataclass
class Comparison:
    """The comparison table of one cycle ("bảng so sánh với chỉ tiêu và kỳ trước")."""

    obligation_id: str
    cycle_key: str
    previous_cycle_key: str | None
    target_year: int
    indicators: list[IndicatorInfo]
    units: list[UnitComparison]
    totals: dict[str, Cell]
    reporting_rate: float
    on_time_rate: float
    previous_reporting_rate: float | None = None
    previous_on_time_rate: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "obligation_id": self.obligation_id,
            "cycle_key": self.cycle_key,
            "previous_cycle_key": self.previous_cycle_key,
            "target_year": self.target_year,
            "indicators": [asdict(i) for i in self.indicators],
            "units": [
                {
                    "unit_id": u.unit_id,
                    "unit_name": u.unit_name,
                    "state": u.state,
                    "previous_state": u.previous_state,
                    "cells": {c: cell.as_dict() for c, cell in u.cells.items()},
                }
                for u in self.units
            ],
            "totals": {c: cell.as_dict() for c, cell in self.totals.items()},
            "reporting_rate": self.reporting_rate,
            "on_time_rate": self.on_time_rate,
            "previous_reporting_rate": self.previous_reporting_rate,
            "previous_on_time_rate": self.previous_on_time_rate,
            "notes": self.notes,
        }


def previous_cycle_key(keys: list[str], key: str) -> str | None:
    index = keys.index(key)
    return keys[index - 1] if index > 0 else None


def _values(sub: Submission | None) -> dict[str, float | None]:
    if sub is None:
        return {}
    return {rec["code"]: rec.get("actual") for rec in (sub.data or {}).get("rows", []) if "code" in rec}


def previous_values(
    session: Session, obligation_id: str, cycle_key: str
) -> tuple[dict[str, dict], dict[str, str]]:
    """Each unit's valid values in a (previous) cycle, and its state there.

    The cycle's validation results come first (what its consolidated report counted); a unit without one
    falls back on its latest accepted submission.
    """
    values: dict[str, dict] = {}
    states: dict[str, str] = {}
    results = session.scalars(
        select(ValidationResult).where(
            ValidationResult.obligation_id == obligation_id, ValidationResult.cycle_key == cycle_key
        )
    )
    for r in results:
        states[r.unit_id] = r.state
        if r.state in VALID and r.submission_id:
            values[r.unit_id] = _values(session.get(Submission, r.submission_id))
    latest: dict[str, dict] = {}
    subs = session.scalars(
        select(Submission)
        .where(
            Submission.obligation_id == obligation_id,
            Submission.cycle_key == cycle_key,
            Submission.status == "accepted",
        )
        .order_by(Submission.received_at, Submission.id)
    )
    for sub in subs:  # ordered by time: the latest accepted version wins
        if sub.unit_id and sub.unit_id not in states:
            latest[sub.unit_id] = _values(sub)
    for unit_id, vals in latest.items():
        values[unit_id] = vals
        states[unit_id] = "accepted"
    return values, states


def _aggregate(kind: str, items: list[float]) -> float | None:
    if not items:
        return None
    return sum(items) / len(items) if kind == "percent" else sum(items)


def compare(session: Session, cons: Consolidated) -> Comparison:
    """Compare the cycle with the form's targets and the previous cycle (read from the store)."""
    plan = cons.plan
    ob, cycle = plan.obligation, plan.cycle
    form = get_form(ob.schema_name)
    # The target a cycle heads for is that of the year its data ends in (NQ28: 2021, 2025, 2030 milestones).
    year = cycle.period_end.year
    keys = ob.cycle_keys(until_year=max(year, int(cycle.key[:4])) + 1)
    prev_key = previous_cycle_key(keys, cycle.key) if cycle.key in keys else None
    prev_values, prev_states = previous_values(session, ob.id, prev_key) if prev_key else ({}, {})
    infos: list[IndicatorInfo] = []
    targets: dict[str, tuple[int, float] | None] = {}
    for ind in form.indicators:
        targets[ind.code] = ind.target_for(year)
        t = targets[ind.code]
        infos.append(
            IndicatorInfo(ind.code, ind.name, ind.measure, ind.kind, t[1] if t else None, t[0] if t else None)
        )
    units = []
    for row in cons.rows:
        prev = prev_values.get(row.unit.id, {})
        cells = {
            ind.code: _cell(row.values.get(ind.code), targets[ind.code], prev.get(ind.code))
            for ind in form.indicators
        }
        units.append(
            UnitComparison(row.unit.id, row.unit.name, row.state, prev_states.get(row.unit.id), cells)
        )
    totals = {
        ind.code: _cell(cons.totals.get(ind.code), targets[ind.code], _prev_total(ind, prev_values))
        for ind in form.indicators
    }
    notes = []
    if prev_key is None:
        notes.append("Không có kỳ trước để so sánh. / No previous cycle to compare with.")
    elif not prev_states:
        notes.append(
            f"Kỳ trước ({prev_key}) chưa có dữ liệu trong kho. / No data for the previous cycle ({prev_key}) in the store."
        )
    prev_rates = _previous_rates(prev_states)
    return Comparison(
        ob.id,
        cycle.key,
        prev_key,
        year,
        infos,
        units,
        totals,
        cons.reporting_rate,
        cons.on_time_rate,
        prev_rates[0],
        prev_rates[1],
        notes,
    )


def _cell(value, target: tuple[int, float] | None, previous) -> Cell:
    return Cell(
        None if value is None else float(value),
        target[1] if target else None,
        target[0] if target else None,
        None if previous is None else float(previous),
    )


def _prev_total(ind: Indicator, prev_values: dict[str, dict]) -> float | None:
    items = [float(v[ind.code]) for v in prev_values.values() if v.get(ind.code) is not None]
    return _aggregate(ind.kind, items)


def _previous_rates(states: dict[str, str]) -> tuple[float | None, float | None]:
    """The previous cycle's rates, when its validation results are in the store (one row per expected unit)."""
    if not states or "accepted" in states.values():
        return None, None
    total = len(states)
    reported = sum(1 for s in states.values() if s in VALID)
    on_time = sum(1 for s in states.values() if s == "on_time")
    return 100.0 * reported / total, 100.0 * on_time / total

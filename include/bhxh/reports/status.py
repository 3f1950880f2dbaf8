"""The status board ("bảng theo dõi báo cáo"): for one obligation, the matrix of units by cycle with each
cell's state (on time, late, invalid, missing, not yet due), the reporting and on-time rates per cycle, and
what a cell links to (the cycle run's mapped task and the submission).

Plain Python over the store and the calendar; the Airflow plugin (plugins/status_board.py) only renders it.

A cell's state comes from the unit's validation result when the cycle run has checked it (the same source as
`bhxh.reports.consolidation.completeness`), else from its submissions: the latest accepted version decides on time / late
against the cycle's `due_at`, rejected versions only make it invalid; with nothing received it is "not yet
due" while the deadline is ahead and missing after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bhxh.calendar.catalogue import Catalogue, dag_id_for
from bhxh.calendar.cycles import TZ, Cycle
from bhxh.calendar.expected import plan_cycle
from bhxh.calendar.obligations import Obligation
from bhxh.calendar.units import UnitRegistry
from bhxh.reports.states import STATE_VI as CYCLE_STATE_VI
from bhxh.reports.states import STATES as CYCLE_STATES
from bhxh.store.models import Submission, ValidationResult

STATES = (*CYCLE_STATES, "not_yet_due")
STATE_VI = {**CYCLE_STATE_VI, "not_yet_due": "Chưa đến hạn"}
DEFAULT_CYCLES = 10


@dataclass
class Cell:
    """One unit in one cycle, with what the board links to."""

    unit_id: str
    unit_name: str  # the unit's name on the cycle's deadline
    cycle_key: str
    state: str
    checked: bool  # True when the state comes from the cycle run's validation result
    dag_id: str
    map_index: int  # position of the unit in the cycle's plan_cycle().units, as the DAG maps it
    submission_id: int | None = None
    received_at: dt.datetime | None = None

    @property
    def state_vi(self) -> str:
        return STATE_VI[self.state]

    @property
    def received_local(self) -> dt.datetime | None:
        return self.received_at.astimezone(TZ) if self.received_at else None


@dataclass
class CycleColumn:
    cycle: Cycle
    expected: int
    counts: dict[str, int]
    checked: int  # how many units have a validation result in this cycle
    flags: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.cycle.key

    @property
    def reported(self) -> int:
        return self.counts["on_time"] + self.counts["late"]

    @property
    def reporting_rate(self) -> float:
        """Valid reports received (on time or late) over expected units, in percent (as bhxh.reports.consolidation computes it)."""
        return 100.0 * self.reported / self.expected if self.expected else 0.0

    @property
    def on_time_rate(self) -> float:
        return 100.0 * self.counts["on_time"] / self.expected if self.expected else 0.0


@dataclass
class Row:
    unit_id: str
    name: str  # the name on the latest shown cycle the unit is expected in
    group: str
    cells: dict[str, Cell | None]  # cycle key -> cell; None when the unit is not expected in that cycle


@dataclass
class StatusMatrix:
    obligation: Obligation
    dag_id: str
    until: dt.date
    columns: list[CycleColumn]
    rows: list[Row]

    @property
    def plan_based(self) -> bool:
        """Units of a plan-based report also send task sheets (their statuses are linked from each cell)."""
        return bool(self.obligation.plan)

    def cell(self, unit_id: str, cycle_key: str) -> Cell | None:
        for row in self.rows:
            if row.unit_id == unit_id:
                return row.cells.get(cycle_key)
        raise KeyError(unit_id)

    def column(self, cycle_key: str) -> CycleColumn:
        return next(c for c in self.columns if c.key == cycle_key)


def shown_cycles(catalogue: Catalogue, obligation_id: str, until: dt.date, limit: int = DEFAULT_CYCLES) -> list[Cycle]:
    """The last `limit` cycles whose reporting period has started on `until` (oldest first)."""
    cycles = [c for c in catalogue.cycles(obligation_id, until_year=until.year + 1) if c.period_start <= until]
    return cycles[-limit:] if limit > 0 else cycles


def status_matrix(
    session: Session,
    obligation_id: str,
    *,
    until: dt.date,
    registry: UnitRegistry,
    catalogue: Catalogue,
    limit: int = DEFAULT_CYCLES,
    now: dt.datetime | None = None,
) -> StatusMatrix:
    """The board for `obligation_id` as it stands on `until` (a deadline is ahead while `due_at` > `now`;
    `now` defaults to the start of `until` in Asia/Ho_Chi_Minh)."""
    ob = catalogue.get(obligation_id)
    dag_id = dag_id_for(ob.id)
    now = now or dt.datetime.combine(until, dt.time(), TZ)
    cycles = shown_cycles(catalogue, ob.id, until, limit)
    keys = [c.key for c in cycles]
    results: dict[tuple[str, str], ValidationResult] = {}
    subs: dict[tuple[str, str], list[Submission]] = {}
    if keys:
        for r in session.scalars(
            select(ValidationResult).where(ValidationResult.obligation_id == ob.id, ValidationResult.cycle_key.in_(keys))
        ):
            results[(r.cycle_key, r.unit_id)] = r
        for s in session.scalars(
            select(Submission)
            .where(Submission.obligation_id == ob.id, Submission.cycle_key.in_(keys))
            .order_by(Submission.received_at.desc(), Submission.id.desc())
        ):
            subs.setdefault((s.cycle_key, s.unit_id), []).append(s)

    columns: list[CycleColumn] = []
    rows: dict[str, Row] = {}
    order: list[tuple[int, int, str]] = []  # (-latest cycle index, position in it, unit id) for row order
    for ci, cycle in enumerate(cycles):
        plan = plan_cycle(ob.id, cycle.key, catalogue, registry)
        counts = dict.fromkeys(STATES, 0)
        checked = 0
        for index, unit in enumerate(plan.units):
            cell = _cell(cycle, unit.id, unit.name, index, dag_id, results.get((cycle.key, unit.id)),
                         subs.get((cycle.key, unit.id), []), now)
            counts[cell.state] += 1
            checked += cell.checked
            row = rows.get(unit.id)
            if row is None:
                row = rows[unit.id] = Row(unit.id, unit.name, unit.group, dict.fromkeys(keys))
            row.name, row.group = unit.name, unit.group  # the latest cycle's name wins
            row.cells[cycle.key] = cell
            order.append((-ci, index, unit.id))
        columns.append(CycleColumn(cycle, len(plan.units), counts, checked, list(plan.flags)))
    seen: set[str] = set()
    ordered: list[Row] = []
    for _ci, _index, unit_id in sorted(order):
        if unit_id not in seen:
            seen.add(unit_id)
            ordered.append(rows[unit_id])
    return StatusMatrix(ob, dag_id, until, columns, ordered)


def _cell(cycle: Cycle, unit_id: str, name: str, index: int, dag_id: str, result: ValidationResult | None,
          subs: list[Submission], now: dt.datetime) -> Cell:
    base = {"unit_id": unit_id, "unit_name": name, "cycle_key": cycle.key, "dag_id": dag_id, "map_index": index}
    if result is not None:
        received = None
        if result.submission_id is not None:
            sub = next((s for s in subs if s.id == result.submission_id), None)
            received = sub.received_at if sub else None
        return Cell(**base, state=result.state, checked=True, submission_id=result.submission_id, received_at=received)
    accepted = [s for s in subs if s.status == "accepted"]
    if accepted:
        sub = accepted[0]  # latest valid version counts, as in bhxh.steps.cycle.validate_unit
        received = sub.received_at
        state = "late" if cycle.is_late(received) else "on_time"
        return Cell(**base, state=state, checked=False, submission_id=sub.id, received_at=received)
    if subs:
        return Cell(**base, state="invalid", checked=False, submission_id=subs[0].id, received_at=subs[0].received_at)
    state = "not_yet_due" if cycle.due_at > now else "missing"
    return Cell(**base, state=state, checked=False)


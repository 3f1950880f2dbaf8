"""Airflow plugin: the reporting-calendar timetable. One run per cycle of an obligation, created when the
cycle's `due_at` passes, with the cycle's reporting period as the data interval."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from pendulum import DateTime, instance

from bhxh.calendar.catalogue import default_catalogue
from bhxh.calendar.cycles import Cycle


def _dt(value: dt.datetime) -> DateTime:
    return instance(value.astimezone(dt.UTC))


class ReportingCycleTimetable(Timetable):
    """Runs an obligation's cycles from the catalogue (`include/bhxh/calendar/data/catalogue.yaml`)."""

    def __init__(self, obligation_id: str) -> None:
        self.obligation_id = obligation_id
        ob = default_catalogue().get(obligation_id)
        self.description = f"{ob.recurrence}: {ob.legal_basis.document}"
        # Always periodic, even for a one-off obligation: Airflow refuses `backfill create` on a non-periodic
        # timetable (DagNonPeriodicScheduleException), and a one-off still yields exactly one run here.
        self.periodic = True

    @property
    def summary(self) -> str:
        return f"Lịch báo cáo {self.obligation_id}"

    def _cycles(self, until: dt.datetime | None = None) -> list[Cycle]:
        horizon = max((until or dt.datetime.now(dt.UTC)).year + 2, dt.date.today().year + 2)
        return default_catalogue().cycles(self.obligation_id, until_year=horizon)

    def serialize(self) -> dict[str, Any]:
        return {"obligation_id": self.obligation_id}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> ReportingCycleTimetable:
        return cls(data["obligation_id"])

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        """A manual run covers the cycle starting at `run_after` if there is one, else the latest cycle whose
        deadline has passed at `run_after` (or the first)."""
        cycles = self._cycles(run_after)
        for cycle in cycles:  # a logical date on a period's first day (as the Trigger form offers) means that cycle
            if cycle.interval_start == run_after:
                return DataInterval(_dt(cycle.interval_start), _dt(cycle.interval_end))
        past = [c for c in cycles if c.due_at <= run_after]
        cycle = past[-1] if past else cycles[0]
        return DataInterval(_dt(cycle.interval_start), _dt(cycle.interval_end))

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        now = dt.datetime.now(dt.UTC)
        cycles = self._cycles(restriction.latest or now)
        candidates = cycles
        if last_automated_data_interval is not None:
            last_start = last_automated_data_interval.start
            candidates = [c for c in candidates if c.interval_start > last_start]
        if not restriction.catchup:
            # Without catchup, never go further back than the latest cycle already due, whatever earlier
            # (possibly backfilled) runs exist: a backfill must not make the scheduler jump back in time.
            due = [c for c in cycles if c.due_at <= now]
            if due:
                candidates = [c for c in candidates if c.interval_start >= due[-1].interval_start]
        if restriction.earliest is not None:
            candidates = [c for c in candidates if c.interval_start >= restriction.earliest]
        if not candidates:
            return None
        cycle = candidates[0]
        if restriction.latest is not None and cycle.interval_start > restriction.latest:
            return None
        return DagRunInfo(
            run_after=_dt(cycle.due_at),
            data_interval=DataInterval(_dt(cycle.interval_start), _dt(cycle.interval_end)),
        )


class BhxhTimetablePlugin(AirflowPlugin):
    name = "bhxh_timetable"
    timetables = [ReportingCycleTimetable]

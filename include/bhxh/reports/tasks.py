"""Consolidation of a plan-based cycle's task reports ("tổng hợp tình hình thực hiện nhiệm vụ").

From the units' validated task sheets (a mapping unit id -> the frame `bhxh.intake.task_sheets.read_task_sheets`
returns, so nothing here depends on the store's layout) it builds:
- the task x unit matrix: the status each unit gave each task (lead or cooperating sheet);
- the tasks past due and not completed, with their lead: due from the plan (`bhxh.calendar.plans.assignments.due_on`) before the
  cycle's deadline, and the lead's status not "Hoàn thành" (or no report at all);
- the completion rate per unit (tasks it leads) and per objective (nearest "Mục tiêu" row above the task, else
  the top heading of its part);
- the change since the previous cycle (cells whose status changed, and each unit's rate then and now).

It renders with templates/reports/tasks.html.j2 (sandboxed, autoescaped) and as XLSX sheets.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bhxh.calendar.plans.assignments import due_on, units_tasks
from bhxh.calendar.plans.model import Plan, Task
from bhxh.calendar.plans.task_form import COMPLETED, LEAD_SHEET, STATUSES, canonical_status
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.reports.xlsx import Column, Sheet, write_xlsx
from bhxh.templating import environment

NOT_REPORTED = "Chưa báo cáo"
STATUS_CSS = {"Hoàn thành": "completed", "Đúng tiến độ": "on_schedule", "Chậm tiến độ": "behind", "Chưa triển khai": "not_started"}
SHEETS = {
    "matrix": "Ma trận nhiệm vụ",
    "past_due": "Nhiệm vụ quá hạn",
    "units": "Tỷ lệ theo đơn vị",
    "objectives": "Tỷ lệ theo mục tiêu",
    "changes": "Thay đổi so với kỳ trước",
}


@dataclass
class TaskConsolidation:
    plan: Plan
    deadline: dt.date
    cycle_key: str | None
    units: list[str]
    unit_names: dict[str, str]
    matrix: pd.DataFrame  # index task id, columns unit ids, status label or NaN
    roles: pd.DataFrame  # same shape: "lead" / "cooperating" where the unit reported the task
    assignments: pd.DataFrame  # task_id, unit, objective, due, status (of the lead), completed
    past_due: pd.DataFrame  # task_id, title, timing_text, due, lead, lead_name, status
    unit_rates: pd.DataFrame  # unit, name, reported, assigned, completed, on_schedule, behind, not_started, rate[, rate_before, change]
    objective_rates: pd.DataFrame  # objective, title, assigned, completed, rate
    changes: pd.DataFrame  # task_id, unit, before, now
    previous_rates: pd.DataFrame | None = None


def objective_of(plan: Plan, task: Task) -> str:
    """The nearest objective row above `task`, else its top heading (or the task itself)."""
    by_id = {t.id: t for t in plan.items}
    current, top = task, task.id
    while current.parent and current.parent in by_id:
        current = by_id[current.parent]
        if current.kind == "objective":
            return current.id
        top = current.id
    return top


def _long(plan: Plan, reports: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per (unit, task) as sent: status canonical, lead sheet preferred over the cooperating one."""
    known = [t.id for t in plan.tasks]
    frames = []
    for unit, frame in reports.items():
        if frame is None or frame.empty:
            continue
        part = frame[["sheet", "task_id", "status", "product", "note"]].copy()
        part.insert(0, "unit", unit)
        frames.append(part)
    if not frames:
        return pd.DataFrame(columns=["unit", "task_id", "role", "status", "product", "note"])
    long = pd.concat(frames, ignore_index=True)
    long = long[long["task_id"].isin(known)].copy()
    long["role"] = (long["sheet"] == LEAD_SHEET).map({True: "lead", False: "cooperating"})
    long["status"] = canonical_status(long["status"])
    long = long.sort_values("role", key=lambda r: r.ne("lead")).drop_duplicates(["unit", "task_id"], keep="first")
    return long[["unit", "task_id", "role", "status", "product", "note"]].reset_index(drop=True)


def _assignments(plan: Plan, units: Sequence[str], deadline: dt.date, registry: UnitRegistry) -> pd.DataFrame:
    rows = []
    for unit, tasks in units_tasks(plan, units, deadline, registry).items():
        for task in tasks.led:
            rows.append((task.id, unit, objective_of(plan, task), due_on(task, deadline)))
    return pd.DataFrame(rows, columns=["task_id", "unit", "objective", "due"])


def _rates(assign: pd.DataFrame, reported_units: set[str], units: Sequence[str]) -> pd.DataFrame:
    status = assign["status"]
    counts = pd.DataFrame({"unit": assign["unit"], "assigned": 1})
    for label, code in STATUSES.items():
        counts[code] = (status == label).astype(int)
    table = counts.groupby("unit").sum().reindex(list(units), fill_value=0)
    table["reported"] = table.index.isin(sorted(reported_units))
    rate = 100.0 * table["completed"] / table["assigned"].where(table["assigned"] > 0)
    table["rate"] = rate.where(table["reported"])
    return table.reset_index(names="unit")


def consolidate_tasks(
    plan: Plan,
    reports: Mapping[str, pd.DataFrame],
    deadline: dt.date,
    *,
    units: Sequence[str] | None = None,
    previous: Mapping[str, pd.DataFrame] | None = None,
    cycle_key: str | None = None,
    registry: UnitRegistry | None = None,
) -> TaskConsolidation:
    """The consolidated task view of a cycle whose deadline is `deadline`.

    `reports`: unit id -> validated task-sheet frame; `units`: the units expected to report (default: those
    that did), in the order of the report; `previous`: the previous cycle's mapping, for the changes.
    """
    registry = registry or default_registry()
    units = list(units) if units is not None else sorted(reports)
    units += [u for u in sorted(reports) if u not in units]
    order = [t.id for t in plan.tasks]
    long = _long(plan, {u: reports[u] for u in units if u in reports})
    assign = _assignments(plan, units, deadline, registry)
    lead_status = long.loc[long["role"] == "lead", ["unit", "task_id", "status"]]
    assign = assign.merge(lead_status, on=["unit", "task_id"], how="left")
    assign["completed"] = assign["status"] == COMPLETED
    shown = [t for t in order if t in set(assign["task_id"]) | set(long["task_id"])]
    matrix = long.pivot(index="task_id", columns="unit", values="status").reindex(index=shown, columns=units)
    roles = long.pivot(index="task_id", columns="unit", values="role").reindex(index=shown, columns=units)
    matrix.index.name = roles.index.name = "task_id"
    matrix.columns.name = roles.columns.name = None
    names = {u: (registry.get(u).name_on(deadline) if u in registry else u) for u in units}
    # past due and not completed, per lead
    by_id = {t.id: t for t in plan.tasks}
    late = assign[assign["due"].notna() & (assign["due"] < deadline) & ~assign["completed"]].copy()
    late["title"] = late["task_id"].map(lambda i: by_id[i].title)
    late["timing_text"] = late["task_id"].map(lambda i: by_id[i].timing_text)
    late["lead_name"] = late["unit"].map(names)
    late["status"] = late["status"].fillna(NOT_REPORTED)
    late["position"] = late["task_id"].map({t: i for i, t in enumerate(order)})
    past_due = (
        late.sort_values(["position", "unit"])
        .rename(columns={"unit": "lead"})[["task_id", "title", "timing_text", "due", "lead", "lead_name", "status"]]
        .reset_index(drop=True)
    )
    reported = {u for u in units if u in reports}
    unit_rates = _rates(assign, reported, units)
    unit_rates.insert(1, "name", unit_rates["unit"].map(names))
    objectives = assign.groupby("objective", sort=False).agg(assigned=("task_id", "size"), completed=("completed", "sum"))
    objectives["rate"] = 100.0 * objectives["completed"] / objectives["assigned"]
    objectives = objectives.reset_index()
    objectives.insert(1, "title", objectives["objective"].map(lambda i: plan.get(i).title))
    objectives["position"] = objectives["objective"].map({t.id: i for i, t in enumerate(plan.items)})
    objectives = objectives.sort_values("position").drop(columns="position").reset_index(drop=True)
    changes = pd.DataFrame(columns=["task_id", "unit", "before", "now"])
    previous_rates = None
    if previous is not None:
        before = _long(plan, {u: previous[u] for u in units if u in previous})
        both = before[["unit", "task_id", "status"]].merge(
            long[["unit", "task_id", "status"]], on=["unit", "task_id"], how="outer", suffixes=("_before", "_now")
        )
        differs = both["status_before"].fillna(NOT_REPORTED) != both["status_now"].fillna(NOT_REPORTED)
        changes = (
            both[differs]
            .rename(columns={"status_before": "before", "status_now": "now"})
            .assign(position=lambda f: f["task_id"].map({t: i for i, t in enumerate(order)}))
            .sort_values(["position", "unit"])[["task_id", "unit", "before", "now"]]
            .fillna(NOT_REPORTED)
            .reset_index(drop=True)
        )
        prev_assign = _assignments(plan, units, deadline, registry).merge(
            before.loc[before["role"] == "lead", ["unit", "task_id", "status"]], on=["unit", "task_id"], how="left"
        )
        previous_rates = _rates(prev_assign, {u for u in units if u in previous}, units)
        unit_rates["rate_before"] = unit_rates["unit"].map(previous_rates.set_index("unit")["rate"])
        unit_rates["change"] = unit_rates["rate"] - unit_rates["rate_before"]
    return TaskConsolidation(
        plan, deadline, cycle_key, units, names, matrix, roles, assign, past_due, unit_rates, objectives, changes, previous_rates
    )


# -- rendering ------------------------------------------------------------------------------------------
def _nan_to_none(value):
    return None if value is None or (isinstance(value, float) and value != value) or value is pd.NA else value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _nan_to_none(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


def report_context(cons: TaskConsolidation) -> dict:
    by_id = {t.id: t for t in cons.plan.tasks}
    matrix_rows = []
    # whole rows as arrays: a cell-by-cell .at lookup costs ~20 µs, and a matrix has thousands of cells
    statuses = cons.matrix.reindex(columns=cons.units).to_numpy(dtype=object)
    roles = cons.roles.reindex(index=cons.matrix.index, columns=cons.units).to_numpy(dtype=object)
    for task_id, status_row, role_row in zip(cons.matrix.index, statuses, roles, strict=True):
        task = by_id[task_id]
        cells = []
        for unit, raw_status, raw_role in zip(cons.units, status_row, role_row, strict=True):
            status = _nan_to_none(raw_status)
            cells.append({"unit": unit, "status": status, "role": _nan_to_none(raw_role), "css": STATUS_CSS.get(status or "", "empty")})
        matrix_rows.append({"id": task_id, "title": task.title, "lead_text": task.lead_text or "", "cells": cells})
    return {
        "plan": cons.plan,
        "deadline": cons.deadline,
        "cycle_key": cons.cycle_key,
        "units": [{"id": u, "name": cons.unit_names[u]} for u in cons.units],
        "matrix_rows": matrix_rows,
        "past_due": _records(cons.past_due),
        "unit_rates": _records(cons.unit_rates),
        "objective_rates": _records(cons.objective_rates),
        "changes": _records(cons.changes),
        "has_previous": cons.previous_rates is not None,
        "statuses": list(STATUSES),
        "not_reported": NOT_REPORTED,
    }


def render_html(cons: TaskConsolidation, template: str = "reports/tasks.html.j2") -> str:
    return environment().get_template(template).render(**report_context(cons))


def _num(value):
    value = _nan_to_none(value)
    return round(float(value), 1) if value is not None else None


def xlsx_sheets(cons: TaskConsolidation) -> dict[str, Sheet]:
    """The consolidated task view as sheets for bhxh.reports.xlsx.write_xlsx (or to merge into a cycle's workbook)."""
    by_id = {t.id: t for t in cons.plan.tasks}
    text, count, pct = "text", "int", "percent"
    unit_columns = [Column(f"{cons.unit_names[u]} ({u})", text, 16) for u in cons.units]
    matrix = Sheet(
        [Column("Mã nhiệm vụ", text, 12), Column("Nội dung nhiệm vụ", text, 50), Column("Chủ trì (theo kế hoạch)", text, 18),
         *unit_columns],
        [
            [tid, by_id[tid].title, by_id[tid].lead_text or ""] + [_nan_to_none(v) or "" for v in row]
            for tid, row in zip(cons.matrix.index, cons.matrix.reindex(columns=cons.units).to_numpy(dtype=object), strict=True)
        ],
        freeze="D2",
        fit_width=max(1, math.ceil(len(cons.units) / 12)),  # a dozen units a page across, the tasks repeated
        repeat_columns="A:B",
    )
    past_due = Sheet(
        [Column("Mã nhiệm vụ", text), Column("Nội dung nhiệm vụ", text, 50), Column("Thời gian hoàn thành", text),
         Column("Hạn", "date"), Column("Đơn vị chủ trì", text), Column("Mã đơn vị", text), Column("Tình trạng", text)],
        [[r["task_id"], r["title"], r["timing_text"] or "", r["due"], r["lead_name"], r["lead"], r["status"]]
         for r in _records(cons.past_due)],
    )
    unit_columns = [Column("Mã đơn vị", text), Column("Tên đơn vị", text), Column("Đã báo cáo", text),
                    Column("Số nhiệm vụ chủ trì", count), *(Column(s, count) for s in STATUSES),
                    Column("Tỷ lệ hoàn thành (%)", pct)]
    if cons.previous_rates is not None:
        unit_columns += [Column("Tỷ lệ kỳ trước (%)", pct), Column("Thay đổi (điểm %)", pct)]
    unit_rows = []
    for r in _records(cons.unit_rates):
        row = [r["unit"], r["name"], "Có" if r["reported"] else "Không", r["assigned"]]
        row += [r[code] for code in STATUSES.values()] + [_num(r["rate"])]
        if cons.previous_rates is not None:
            row += [_num(r["rate_before"]), _num(r["change"])]
        unit_rows.append(row)
    objectives = Sheet(
        [Column("Mục tiêu / phần", text), Column("Nội dung", text, 50), Column("Số lượt giao chủ trì", count),
         Column("Hoàn thành", count), Column("Tỷ lệ hoàn thành (%)", pct)],
        [[r["objective"], r["title"], r["assigned"], r["completed"], _num(r["rate"])] for r in _records(cons.objective_rates)],
    )
    sheets = {
        SHEETS["matrix"]: matrix,
        SHEETS["past_due"]: past_due,
        SHEETS["units"]: Sheet(unit_columns, unit_rows, freeze="C2"),
        SHEETS["objectives"]: objectives,
    }
    if cons.previous_rates is not None:
        sheets[SHEETS["changes"]] = Sheet(
            [Column("Mã nhiệm vụ", text), Column("Mã đơn vị", text), Column("Tên đơn vị", text), Column("Kỳ trước", text),
             Column("Kỳ này", text)],
            [[r["task_id"], r["unit"], cons.unit_names.get(r["unit"], r["unit"]), r["before"], r["now"]] for r in _records(cons.changes)],
        )
    return sheets


def render_task_reports(cons: TaskConsolidation, target: Path) -> dict[str, str]:
    """The consolidated task view as tong_hop_nhiem_vu.html and .xlsx in `target`."""
    target.mkdir(parents=True, exist_ok=True)
    html_path = target / "tong_hop_nhiem_vu.html"
    html_path.write_text(render_html(cons), encoding="utf-8")
    xlsx_path = write_xlsx(target / "tong_hop_nhiem_vu.xlsx", xlsx_sheets(cons))
    return {"tasks_html": str(html_path), "tasks_xlsx": str(xlsx_path)}


def frames_from_records(records: Mapping[str, list[dict]] | None) -> dict[str, pd.DataFrame] | None:
    """unit id -> task-sheet frame, from the rows kept in the store (Submission.data["tasks"])."""
    if records is None:
        return None
    from bhxh.calendar.plans.task_form import FRAME_COLUMNS

    return {unit: pd.DataFrame(rows, columns=FRAME_COLUMNS) for unit, rows in records.items()}

"""Sample submissions for a demo cycle: real XLSX/CSV files as units would send them, with a scripted mix of
on-time, late, invalid (each for a different reason) and missing units. Deterministic for a given seed."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import TZ
from bhxh.calendar.expected import plan_cycle
from bhxh.calendar.forms import file_name, get_form
from bhxh.calendar.plans.assignments import unit_tasks
from bhxh.calendar.plans.model import load_plans
from bhxh.calendar.plans.task_form import COMPLETED, STATUSES, TASK_SHEETS, TITLE_ROWS
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.cli.templates import guide_for
from bhxh.intake.forms_xlsx import form_rows, write_report_csv, write_report_xlsx
from bhxh.intake.task_sheets import write_task_sheets

# Each invalid sample breaks a different rule, so the demo shows every kind of rejection message once.
INVALID_KINDS = ("percent_over_100", "text_in_number", "missing_indicator", "wrong_period", "formula", "completed_over_assigned")


@dataclass
class SampleFile:
    path: str
    unit_id: str
    received_at: str
    scenario: str


def sample_values(rng: random.Random, group: str) -> dict[str, float]:
    assigned = rng.randint(8, 15)
    done = rng.randint(max(0, assigned - 5), assigned)
    if group != "provincial":
        return {"NHIEM_VU_GIAO": assigned, "NHIEM_VU_HT": done}
    workforce = rng.randint(300_000, 3_000_000)
    bb = int(workforce * rng.uniform(0.10, 0.35))
    return {
        "BHXH_BB": bb,
        "BHXH_TN": int(workforce * rng.uniform(0.003, 0.02)),
        "BHTN": int(bb * rng.uniform(0.85, 0.95)),
        "BHYT": int(workforce * rng.uniform(1.2, 1.6)),
        "BHYT_BAO_PHU": round(rng.uniform(82.0, 97.5), 1),
        "TONG_THU": round(bb * rng.uniform(9.0, 14.0)),
        "CHAM_DONG": round(bb * rng.uniform(0.2, 0.6)),
        "GIAO_DICH_DT": round(rng.uniform(85.0, 99.5), 1),
        "NHIEM_VU_GIAO": assigned,
        "NHIEM_VU_HT": done,
    }


def generate(
    out_dir: Path,
    obligation_id: str = "nq51_action_programme",
    cycle_key: str = "2019",
    *,
    seed: int = 2019,
    catalogue: Catalogue | None = None,
    registry: UnitRegistry | None = None,
) -> list[SampleFile]:
    """Write the sample files and a manifest (received_at of each) into out_dir; returns the manifest."""
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
    plan = plan_cycle(obligation_id, cycle_key, catalogue, registry)
    form = get_form(plan.obligation.schema_name)
    cycle = plan.cycle
    rng = random.Random(seed)
    units = list(plan.units)
    order = list(range(len(units)))
    rng.shuffle(order)
    # scripted mix: 4 missing, 6 invalid (one per kind), 7 late, one resubmission after a rejection
    missing = set(order[:4])
    invalid = {order[4 + i]: kind for i, kind in enumerate(INVALID_KINDS)}
    late = set(order[10:17])
    resubmit = order[17]
    csv_units = set(order[18:21])
    # Plan-based obligations: XLSX files carry the unit's task sheets; one otherwise valid unit leaves a task out.
    plan_data = load_plans()[plan.obligation.plan] if plan.obligation.plan else None
    leaves_task_out = next(
        (i for i in order[21:] if plan_data and unit_tasks(plan_data, units[i].id, cycle.effective_last_day, registry).led),
        None,
    )
    files: list[SampleFile] = []
    unit_list = [(u.id, u.name, u.group) for u in units]
    out_dir.mkdir(parents=True, exist_ok=True)
    due = cycle.due_at
    for index, unit in enumerate(units):
        if index in missing:
            continue
        urng = random.Random(f"{seed}/{unit.id}")
        values = sample_values(urng, unit.group)
        meta = {"unit": unit.id, "obligation": obligation_id, "period": cycle_key}
        received = due - dt.timedelta(days=urng.randint(1, 12), hours=urng.randint(0, 9), minutes=urng.randint(0, 59))
        scenario = "on_time"
        if index in late:
            received = due + dt.timedelta(days=urng.randint(0, 6), hours=urng.randint(1, 20))
            scenario = "late"
        rows = form_rows(form, values)
        name = file_name(obligation_id, cycle_key, unit.id)
        if index in invalid:
            scenario = "invalid:" + invalid[index]
            kind = invalid[index]
            if kind == "percent_over_100":
                _set(rows, "BHYT_BAO_PHU", 104.5) if unit.group == "provincial" else _set(rows, "NHIEM_VU_HT", 10**6)
            elif kind == "text_in_number":
                _set(rows, "NHIEM_VU_GIAO", "khoảng mười hai")
            elif kind == "missing_indicator":
                rows = [r for r in rows if r[0] != "NHIEM_VU_GIAO"]
            elif kind == "wrong_period":
                meta = {**meta, "period": str(int(cycle_key) - 1)}  # sent for this cycle, with last year's data
            elif kind == "completed_over_assigned":
                _set(rows, "NHIEM_VU_HT", values["NHIEM_VU_GIAO"] + 3)
        if index == resubmit:
            first = out_dir / "v1" / name  # the first version, sent earlier under the same name
            bad = [list(r) for r in rows]
            _set(bad, "NHIEM_VU_HT", -2)
            write_report_xlsx(first, form, meta, bad, unit_name=unit.name)
            files.append(SampleFile(str(first), unit.id, (received - dt.timedelta(days=3)).isoformat(), "invalid_then_resubmitted"))
            scenario = "resubmitted"
        path = out_dir / name
        if index in csv_units and index not in invalid:
            path = path.with_suffix(".csv")
            write_report_csv(path, form, meta, rows, encoding="cp1258" if index == min(csv_units) else "utf-8-sig")
        else:
            # the unit's template (`make templates`), filled in
            write_report_xlsx(path, form, meta, rows, unit_name=unit.name, units=unit_list,
                              guide=guide_for(plan.obligation, plan, unit.id))
            if plan_data is not None:
                _fill_tasks(path, plan_data, unit.id, cycle.effective_last_day, registry, urng, leave_out=index == leaves_task_out)
                if index == leaves_task_out:
                    scenario = "invalid:task_left_out"
            if index in invalid and invalid[index] == "formula":
                _put_formula(path, form)
        files.append(SampleFile(str(path), unit.id, received.astimezone(TZ).isoformat(), scenario))
    manifest = out_dir / "manifest.json"
    manifest.write_text(json.dumps([f.__dict__ for f in files], ensure_ascii=False, indent=1), encoding="utf-8")
    return files


def _set(rows: list[list], code: str, value) -> None:
    for row in rows:
        if row[0] == code:
            row[4] = value


def _fill_tasks(path: Path, plan, unit_id: str, day: dt.date, registry, rng: random.Random, *, leave_out: bool) -> None:
    """The unit's task sheets, filled as a unit would: a status per task and, when completed, the document."""
    wb = load_workbook(path)
    write_task_sheets(wb, plan, unit_id, day, registry=registry)
    statuses = list(STATUSES)
    for sheet in TASK_SHEETS:
        ws = wb[sheet]
        first = TITLE_ROWS + 2
        if leave_out and sheet == TASK_SHEETS[0] and ws.max_row >= first:
            ws.delete_rows(first)  # the first task it leads is missing from its report
        for row in range(first, ws.max_row + 1):
            if not ws.cell(row, 1).value:
                continue
            status = rng.choices(statuses, weights=(5, 3, 2, 1))[0]
            ws.cell(row, 6, status)
            if status == COMPLETED:
                ws.cell(row, 7, f"Công văn số {rng.randint(100, 4999)}/BHXH ngày {rng.randint(1, 28):02d}/{rng.randint(1, 10):02d}/{day.year}")
    wb.save(path)


def _put_formula(path: Path, form) -> None:
    wb = load_workbook(path)
    ws = wb[form.sheet]
    ws.cell(row=2, column=5, value="=100+1")
    wb.save(path)


def read_manifest(folder: Path) -> list[SampleFile]:
    return [SampleFile(**item) for item in json.loads((folder / "manifest.json").read_text(encoding="utf-8"))]

"""The report templates units fill in (`make templates`):

    python -m bhxh.cli.templates [--out DIR] [--obligation ID] [--cycle KEY] [--unit ID]     (default out/templates)

Without options, for every obligation of the catalogue:
- a report on indicators or records: one blank <obligation>.xlsx (and .csv), the unit's code left to fill in;
- a plan-based report: one workbook per unit expected in the current cycle (the first whose deadline has not
  passed, else the last), <obligation>/<cycle>/<obligation>__<cycle>__<unit>.xlsx, with the unit's own task sheets
  (a blank without them could never be accepted).
`--cycle` (and `--unit`) ask for pre-filled workbooks of that cycle (and unit) for every obligation chosen; the CSV
goes with each workbook of a report that has no task sheets. Every workbook carries the sheets "Hướng dẫn"
(instructions), "Thông tin", the form, the task sheets when plan-based, and "Danh mục đơn vị" (unit codes and
names). Prints the paths written; exit 2 when a choice matches nothing (an unknown obligation, cycle or unit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from bhxh import PROJECT_ROOT
from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import TZ, Cycle
from bhxh.calendar.expected import CyclePlan, plan_cycle
from bhxh.calendar.forms import file_name, get_form
from bhxh.calendar.obligations import Obligation
from bhxh.calendar.plans.task_form import COOP_SHEET, LEAD_SHEET, STATUSES
from bhxh.errors import BhxhError
from bhxh.intake.forms_xlsx import form_rows, write_report_csv, write_report_xlsx
from bhxh.intake.reading import MAX_FILE_BYTES

ROOT = PROJECT_ROOT
DEFAULT_OUT = ROOT / "out" / "templates"
PERIOD_EXAMPLE = {"yearly": "2026", "half-yearly": "2026-H1", "quarterly": "2026-Q1", "monthly": "2026-01", "once": None}


class TemplateChoiceError(BhxhError):
    """The obligation, cycle or unit asked for does not exist (or the unit does not report in that cycle)."""


def _period_hint(ob: Obligation) -> str:
    if ob.recurrence == "once":
        return str(ob.first_cycle or (ob.deadline.date.year if ob.deadline.date else ""))
    return PERIOD_EXAMPLE.get(ob.recurrence) or "2026"


def current_cycle(catalogue: Catalogue, ob: Obligation, today: dt.date) -> Cycle:
    """The cycle units are working on: the first whose last day has not passed, else the obligation's last one."""
    cycles = catalogue.cycles(ob.id, until_year=today.year + 2)
    if not cycles:
        raise TemplateChoiceError(
            f"Báo cáo '{ob.id}' chưa có kỳ nào.", f"Report '{ob.id}' has no cycle.", code="no_cycle"
        )
    return next((c for c in cycles if c.effective_last_day >= today), cycles[-1])


def guide_for(ob: Obligation, plan: CyclePlan | None, unit_id: str | None) -> dict:
    """What the instructions sheet says about the report, its cycle, its recipient and the file's name."""
    guide = {
        "obligation": ob,
        "period_hint": plan.cycle.key if plan else _period_hint(ob),
        "max_mb": MAX_FILE_BYTES // 1024 // 1024,
        "lead_sheet": LEAD_SHEET,
        "coop_sheet": COOP_SHEET,
        "statuses": list(STATUSES),
        "cycle": plan.cycle if plan else None,
        "recipient": plan.recipient if plan else None,
    }
    if plan and unit_id:
        guide["file_name"] = file_name(ob.id, plan.cycle.key, unit_id)
    return guide


def _units(plan: CyclePlan) -> list[tuple[str, str, str]]:
    return [(u.id, u.name, u.group) for u in plan.units]


def write_blank(out: Path, ob: Obligation, plan: CyclePlan) -> list[Path]:
    """The blank of a report without task sheets: the unit writes its code; the units of `plan` are listed."""
    form = get_form(ob.schema_name)
    meta = {"obligation": ob.id, "period": "", "unit": ""}
    rows = form_rows(form)
    guide = {**guide_for(ob, None, None), "recipient": plan.recipient}
    xlsx = write_report_xlsx(out / f"{ob.id}.xlsx", form, meta, rows, units=_units(plan), guide=guide)
    return [xlsx, write_report_csv(out / f"{ob.id}.csv", form, meta, rows, encoding="utf-8-sig")]


def write_for_unit(out: Path, ob: Obligation, plan: CyclePlan, unit_id: str) -> list[Path]:
    """The pre-filled workbook of one unit for one cycle (with its task sheets when the report is plan-based)."""
    unit = next((u for u in plan.units if u.id == unit_id), None)
    if unit is None:
        raise TemplateChoiceError(
            f"Đơn vị '{unit_id}' không phải gửi báo cáo '{ob.id}' kỳ {plan.cycle.key}.",
            f"Unit '{unit_id}' does not report '{ob.id}' in cycle {plan.cycle.key}.",
            code="unit_not_expected",
        )
    form = get_form(ob.schema_name)
    meta = {"obligation": ob.id, "period": plan.cycle.key, "unit": unit.id}
    folder = out / ob.id / plan.cycle.key
    path = folder / file_name(ob.id, plan.cycle.key, unit.id)
    tasks = None
    if ob.plan:
        from bhxh.calendar.plans.model import load_plans

        tasks = (load_plans()[ob.plan], unit.id, plan.cycle.effective_last_day)
    rows = form_rows(form)
    written = [write_report_xlsx(path, form, meta, rows, unit_name=unit.name, tasks=tasks, units=_units(plan),
                                 guide=guide_for(ob, plan, unit.id))]
    if tasks is None:
        written.append(write_report_csv(path.with_suffix(".csv"), form, meta, rows, encoding="utf-8-sig"))
    return written


def write_templates(
    out: Path,
    catalogue: Catalogue | None = None,
    *,
    obligation: str | None = None,
    cycle: str | None = None,
    unit: str | None = None,
    today: dt.date | None = None,
) -> list[Path]:
    catalogue = catalogue or default_catalogue()
    today = today or dt.datetime.now(TZ).date()
    if obligation and obligation not in catalogue.obligations:
        raise TemplateChoiceError(
            f"Không có báo cáo '{obligation}' trong danh mục.", f"No report '{obligation}' in the catalogue.",
            code="unknown_obligation",
        )
    chosen = [catalogue.get(obligation)] if obligation else list(catalogue)
    written: list[Path] = []
    for ob in chosen:
        if cycle and cycle not in ob.cycle_keys(until_year=int(cycle[:4]) + 1 if cycle[:4].isdigit() else today.year):
            if obligation:
                raise TemplateChoiceError(
                    f"Báo cáo '{ob.id}' không có kỳ '{cycle}'.", f"Report '{ob.id}' has no cycle '{cycle}'.",
                    code="unknown_cycle",
                )
            continue
        key = cycle or current_cycle(catalogue, ob, today).key
        plan = plan_cycle(ob.id, key, catalogue)
        if unit:
            if unit in {u.id for u in plan.units} or obligation:
                written += write_for_unit(out, ob, plan, unit)
        elif cycle or ob.plan:
            for member in plan.units:
                written += write_for_unit(out, ob, plan, member.id)
        else:
            written += write_blank(out, ob, plan)
    if not written:
        raise TemplateChoiceError(
            f"Không có mẫu nào ứng với lựa chọn (báo cáo {obligation or 'tất cả'}, kỳ {cycle or 'hiện tại'}, đơn vị {unit}).",
            f"No template matches the choice (report {obligation or 'all'}, cycle {cycle or 'current'}, unit {unit}).",
            code="nothing_chosen",
        )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bhxh.cli.templates", description="Mẫu báo cáo / Report templates")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--obligation", help="mã báo cáo / obligation id (default: all)")
    parser.add_argument("--cycle", help="kỳ báo cáo / cycle key, e.g. 2019 (default: the current cycle)")
    parser.add_argument("--unit", help="mã đơn vị / unit id (default: every unit expected)")
    args = parser.parse_args(argv)
    try:
        paths = write_templates(args.out, obligation=args.obligation, cycle=args.cycle, unit=args.unit)
    except BhxhError as exc:
        print(f"{exc.message_vi} / {exc.message_en}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

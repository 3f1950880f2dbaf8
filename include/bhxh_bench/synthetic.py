"""A synthetic registry of 3,500 reporting units (the order of Vietnam's communes after 2025) for the scale
benchmark: the shipped registry plus synthetic units `xa_00001`... in the reporting group of the Resolution 51
report, so that its 2019 cycle expects BHXH_BENCH_UNITS units (default 3,500). Deterministic, so every task
process rebuilds the same registry. The synthetic units have no e-mail contact (see docs/performance.md).
"""

from __future__ import annotations

import datetime as dt
import os
import random
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from bhxh.calendar.units import NamePeriod, UnitRegistry, default_registry

OBLIGATION, CYCLE = "nq51_action_programme", "2019"
UNITS_ENV = "BHXH_BENCH_UNITS"


def unit_count() -> int:
    return int(os.environ.get(UNITS_ENV, "3500"))


@lru_cache(maxsize=4)
def synthetic_registry(total: int | None = None) -> UnitRegistry:
    from bhxh.calendar.expected import plan_cycle

    total = total or unit_count()
    base = default_registry()
    real = plan_cycle(OBLIGATION, CYCLE, registry=base)
    template = next(u for u in base.all() if u.id == next(e.id for e in real.units if e.group == "provincial"))
    extra = []
    for i in range(1, max(0, total - len(real.units)) + 1):
        extra.append(
            replace(
                template, id=f"xa_{i:05d}", names=(NamePeriod(f"BHXH xã tổng hợp số {i:05d}"),), valid_from=None,
                valid_until=None, parent=None, successors=(), absorbed=(), abbreviations=(), short_name=None,
                email=None, chat=None, aliases=(), seed_name=None, order=100_000 + i, also_groups=(), raw={},
            )
        )
    return UnitRegistry([*base.all(), *extra], base.folder)


def write_submissions(folder: Path, registry: UnitRegistry) -> list[tuple[Path, dt.datetime]]:
    """One valid CSV report per expected unit, received before the deadline."""
    from bhxh.calendar.expected import plan_cycle
    from bhxh.calendar.forms import file_name, get_form
    from bhxh.cli.sample import sample_values
    from bhxh.intake.forms_xlsx import form_rows, write_report_csv

    plan = plan_cycle(OBLIGATION, CYCLE, registry=registry)
    form = get_form(plan.obligation.schema_name)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for unit in plan.units:
        rng = random.Random(f"bench/{unit.id}")
        rows = form_rows(form, sample_values(rng, unit.group))
        path = folder / file_name(OBLIGATION, CYCLE, unit.id, ".csv")
        write_report_csv(path, form, {"unit": unit.id, "obligation": OBLIGATION, "period": CYCLE}, rows)
        out.append((path, plan.cycle.due_at - dt.timedelta(days=rng.randint(1, 10))))
    return out


def ingest_all(url: str, files: list[tuple[Path, dt.datetime]], registry: UnitRegistry) -> dict:
    from bhxh.intake.submission import ingest
    from bhxh.store.engine import init_store, session_factory

    init_store(url)
    maker = session_factory(url)
    counts = {"accepted": 0, "rejected": 0}
    with maker() as session, session.begin():
        for path, received in files:
            result = ingest(session, path.read_bytes(), path.name, received, registry=registry)
            counts[result.status] += 1
    return counts

"""Validation throughput: one million indicator rows spread over 3,500 units' CSV files, validated by
bhxh.intake (reading.read_report + validation.validate_report: parsing Vietnamese numbers, the pandera schema, duplicates, kinds,
measures, required indicators), against reading the same files with pandas alone (`pandas.read_csv`).

The shipped forms have about ten indicators, so a synthetic form with ~286 indicators (1,000,000 / 3,500) is
used; files are written as units send them (metadata lines, ';' separator, Vietnamese decimal commas).
"""

from __future__ import annotations

import io
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

from bhxh_bench.common import cleanup, tmp_dir

GOAL_RATIO = 3.0


def synthetic_form(indicators: int):
    from bhxh.calendar.forms import Indicator, get_form

    base = get_form("nq51_indicators")
    kinds = ("count", "money", "percent")
    measures = {"count": "người", "money": "triệu đồng", "percent": "%"}
    items = tuple(
        Indicator(f"CT{i:04d}", f"Chỉ tiêu tổng hợp số {i}", measures[kinds[i % 3]], kinds[i % 3], ())
        for i in range(indicators)
    )
    return replace(base, id=f"bench_{indicators}", indicators=items, rules=(), sum_rules=())


def write_files(folder: Path, units: int, rows_total: int, form) -> tuple[list[Path], int]:
    from bhxh.intake.forms_xlsx import write_report_csv

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    per, extra = divmod(rows_total, units)
    paths, rows_written = [], 0
    for u in range(units):
        n = per + (1 if u < extra else 0)
        rows = []
        for ind in form.indicators[:n]:
            if ind.kind == "percent":
                value = f"{rng.uniform(50, 99.9):.1f}".replace(".", ",")
            elif ind.kind == "money":
                value = f"{rng.randint(1000, 9_999_999):,}".replace(",", ".")
            else:
                value = str(rng.randint(0, 50_000))
            rows.append([ind.code, ind.name, ind.measure, None, value, None])
        meta = {"unit": f"xa_{u:05d}", "obligation": "bench", "period": "2025"}
        paths.append(write_report_csv(folder / f"bench__2025__xa_{u:05d}.csv", form, meta, rows))
        rows_written += n
    return paths, rows_written


def run(quick: bool = False) -> dict:
    import pandas as pd

    from bhxh.intake.reading import read_report
    from bhxh.intake.validation import validate_report

    units, rows_total = (350, 100_000) if quick else (3_500, 1_000_000)
    per_file = -(-rows_total // units)
    form = synthetic_form(per_file)
    work = tmp_dir("throughput")
    started = time.perf_counter()
    paths, rows = write_files(work / "files", units, rows_total, form)
    write_s = time.perf_counter() - started
    read_report(paths[0].read_bytes(), paths[0].name, form)  # warm caches (pandera schema, regexes)

    started = time.perf_counter()
    pandas_rows = 0
    for path in paths:
        frame = pd.read_csv(io.BytesIO(path.read_bytes()), sep=";", comment="#", encoding="utf-8-sig",
                            decimal=",", thousands=".")
        pandas_rows += len(frame)
    pandas_s = time.perf_counter() - started

    started = time.perf_counter()
    validated_rows = problems = 0
    for path in paths:
        parsed = read_report(path.read_bytes(), path.name, form)
        found = validate_report(parsed, form, filename=None)
        validated_rows += 0 if parsed.frame is None else len(parsed.frame)
        problems += len(found)
    validate_s = time.perf_counter() - started
    result = {
        "files": len(paths),
        "rows": rows,
        "rows_validated": validated_rows,
        "rows_read_by_pandas": pandas_rows,
        "problems_found": problems,
        "write_s": round(write_s, 2),
        "validate_s": round(validate_s, 2),
        "pandas_read_s": round(pandas_s, 2),
        "rows_per_s": round(validated_rows / validate_s),
        "pandas_rows_per_s": round(pandas_rows / pandas_s),
        "ratio_to_pandas": round(validate_s / pandas_s, 2),
        "goal_ratio": GOAL_RATIO,
        "meets_goal": validate_s / pandas_s <= GOAL_RATIO,
    }
    cleanup(work)
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))

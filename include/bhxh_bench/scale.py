"""Scale: one cycle of 3,500 units (synthetic registry, bhxh_bench.synthetic) under the real scheduler with
LocalExecutor, validated in mapped batches (bhxh_bench/dags/bench_scale.py), beside bench_noop with as many mapped
instances as there are batches. Also: re-running one chosen unit (param `units`), and the peak RSS of the
scheduler and of a task process during the cycle. Setting up (writing 3,500 files, ingesting them) is timed
apart and not counted in the cycle.
"""

from __future__ import annotations

import json
import shutil
import sys
import time

from bhxh_bench.common import (
    BENCH_DAGS,
    DAGS,
    NOOP_DAG,
    PARALLELISM,
    LoopbackSinks,
    RssSampler,
    Stack,
    airflow_env,
    cleanup,
    connection_env,
    migrate,
    run_seconds,
    tmp_dir,
)
from bhxh_bench.synthetic import UNITS_ENV, ingest_all, synthetic_registry, write_submissions

GOAL_S = 300
SCALE_DAG = "bench_scale"


def run(quick: bool = False, units: int | None = None, batch_size: int = 100) -> dict:

    units = units or (500 if quick else 3_500)
    work = tmp_dir("scale")
    home, dags = work / "home", work / "dags"
    home.mkdir()
    dags.mkdir()
    shutil.copy(BENCH_DAGS / "bench_scale.py", dags / "bench_scale.py")
    shutil.copy(BENCH_DAGS / "bench_noop.py", dags / "bench_noop.py")
    shutil.copytree(DAGS / "common", dags / "common")
    registry = synthetic_registry(units)
    started = time.perf_counter()
    files = write_submissions(work / "inbox", registry)
    write_s = time.perf_counter() - started
    store = f"sqlite:///{work / 'store.sqlite'}"
    started = time.perf_counter()
    ingested = ingest_all(store, files, registry)
    ingest_s = time.perf_counter() - started
    batches = -(-len(files) // batch_size)
    sinks = LoopbackSinks(work)
    env = airflow_env(home, dags, **connection_env(store, sinks.smtp_port, sinks.http_port), BHXH_OUT_DIR=str(work / "reports"))
    env[UNITS_ENV] = str(units)
    result: dict = {
        "units": len(files), "batch_size": batch_size, "batches": batches, "task_instances": batches + 5,
        "parallelism": PARALLELISM, "setup_write_files_s": round(write_s, 1), "setup_ingest_s": round(ingest_s, 1),
        "ingested": ingested,
    }
    stack = Stack(home, env)
    try:
        migrate(env)
        stack.start()
        stack.wait_dags([SCALE_DAG, NOOP_DAG])
        for dag_id in (SCALE_DAG, NOOP_DAG):
            stack.airflow_cli("dags", "unpause", dag_id)
        stack.trigger(NOOP_DAG, "noop", {"units": batches})
        rows = stack.wait_runs(NOOP_DAG, ["noop"], timeout=1200)
        result["noop_s"] = run_seconds(rows)
        sampler = RssSampler(stack)
        sampler.start()
        stack.trigger(SCALE_DAG, "scale", {"batch_size": batch_size})
        rows = stack.wait_runs(SCALE_DAG, ["scale"], timeout=1800)
        result["memory"] = sampler.stop()
        result["cycle_s"] = run_seconds(rows)
        result["cycle_state"] = rows[0]["state"]
        result["cycle_ti"] = stack.task_stats(SCALE_DAG, ["scale"])
        result["overhead_ratio"] = round(result["cycle_s"] / result["noop_s"], 2)
        result["per_unit_s"] = round(result["cycle_s"] / len(files), 4)
        result["states_in_store"] = _states(store)
        # re-run one unit of the cycle by the param `units`
        chosen = files[len(files) // 2][0].name.split("__")[2].removesuffix(".csv")
        stack.trigger(SCALE_DAG, "rerun_one", {"batch_size": batch_size, "units": [chosen]})
        rows = stack.wait_runs(SCALE_DAG, ["rerun_one"], timeout=900)
        result["rerun_one_unit"] = {"unit": chosen, "state": rows[0]["state"], "seconds": run_seconds(rows)}
        result["meets_goal"] = result["cycle_state"] == "success" and result["cycle_s"] < GOAL_S
        result["goal_s"] = GOAL_S
    finally:
        stack.stop()
        sinks.stop()
    cleanup(work)
    return result


def _states(url: str) -> dict:
    from sqlalchemy import func, select

    from bhxh.store.engine import session_factory
    from bhxh.store.models import ValidationResult

    with session_factory(url)() as session:
        counts = dict(session.execute(select(ValidationResult.state, func.count()).group_by(ValidationResult.state)).all())
        odd = session.execute(
            select(ValidationResult.unit_id, ValidationResult.state).where(ValidationResult.state != "on_time").limit(10)
        ).all()
    return {**counts, "not_on_time_units": [f"{u}: {s}" for u, s in odd]}


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))

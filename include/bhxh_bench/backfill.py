"""Backfill: ten yearly cycles of bao_cao_nq51_action_programme (2017-2026) through `airflow backfill create`,
run by the scheduler (LocalExecutor), beside ten yearly runs of bench_noop_yearly (same shape, 83 mapped
instances) backfilled the same way in the same stack. The store holds the 2019 sample submissions; the other
cycles find nobody reporting (units skipped as missing, overdue notices sent to loopback SMTP).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time

from bhxh_bench.common import (
    CYCLE_DAG,
    NOOP_YEARLY_DAG,
    PARALLELISM,
    LoopbackSinks,
    Stack,
    airflow_env,
    cleanup,
    connection_env,
    dags_with_baseline,
    migrate,
    parse_ts,
    query,
    run_seconds,
    sample_store,
    tmp_dir,
)

# Each backfill gets at most this long; past it, what finished so far is reported as a partial measurement.
# 880 task instances at ~1.2 per second on 2 cores take ~12 minutes.
TIME_LIMIT_S = float(os.environ.get("BHXH_BENCH_BACKFILL_LIMIT_S", "1200"))
FINISHED = ("success", "failed", "skipped", "upstream_failed", "removed")


def _create_backfill(stack: Stack, dag_id: str, start: str, end: str) -> None:
    """`airflow backfill create` with the scheduler stopped: on SQLite the CLI's inserts otherwise wait on the
    scheduler's writes and fail with "database is locked" (it did in the full bench of 24/11/2026 12:13 UTC, the
    cycle's backfill right after the no-op's). The runs are timed from their own start, so the restart is not
    counted."""
    stack.kill_one("scheduler")
    try:
        for attempt in range(3):
            proc = stack.airflow_cli("backfill", "create", "--dag-id", dag_id, "--from-date", start, "--to-date", end, check=False)
            if proc.returncode == 0:
                return
            locked = "database is locked" in proc.stdout + proc.stderr
            # a retry is safe only if nothing of this backfill was written (the dag-processor may hold the lock)
            if not locked or attempt == 2 or query(stack.db, "SELECT id FROM backfill WHERE dag_id = ?", [dag_id]):
                raise RuntimeError(f"airflow backfill create failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
            time.sleep(5)
    finally:
        stack.start_one("scheduler")


def _backfill(stack: Stack, dag_id: str, start: str, end: str, expected: int) -> dict:
    started = time.monotonic()
    _create_backfill(stack, dag_id, start, end)
    partial = False
    try:
        rows = stack.wait_runs(dag_id, run_type="backfill", count=expected, timeout=TIME_LIMIT_S)
    except TimeoutError:
        partial = True
        rows = stack.runs(dag_id, run_type="backfill")
        stack.airflow_cli("dags", "pause", dag_id, check=False)  # its remaining runs must not load the next one
    wall = time.monotonic() - started
    ti = stack.task_stats(dag_id, [r["run_id"] for r in rows])
    finished_ti = sum(n for state, n in ti["states"].items() if state in FINISHED)
    if partial:  # from the first run's start to now, over the task instances finished so far
        first = min(parse_ts(r["start_date"]) for r in rows if r["start_date"])
        span = (dt.datetime.now(dt.UTC) - first).total_seconds()
    else:
        span = run_seconds(rows)
    return {
        "runs": len(rows), "runs_finished": sum(r["state"] in ("success", "failed") for r in rows),
        "run_states": sorted({str(r["state"]) for r in rows}), "partial": partial, "time_limit_s": TIME_LIMIT_S,
        "runs_s": round(span, 1), "wall_s_incl_cli": round(wall, 1), **ti, "task_instances_finished": finished_ti,
        "s_per_task_instance": round(span / max(finished_ti, 1), 3),
    }


def run(quick: bool = False) -> dict:
    work = tmp_dir("backfill")
    home = work / "home"
    home.mkdir()
    store = sample_store(work / "store")
    sinks = LoopbackSinks(work)
    env = airflow_env(home, dags_with_baseline(work), **connection_env(store, sinks.smtp_port, sinks.http_port), BHXH_OUT_DIR=str(work / "reports"))
    stack = Stack(home, env)
    result: dict = {"parallelism": PARALLELISM}
    try:
        migrate(env)
        stack.start()
        stack.wait_dags([CYCLE_DAG, NOOP_YEARLY_DAG])
        for dag_id in (CYCLE_DAG, NOOP_YEARLY_DAG):
            stack.airflow_cli("dags", "unpause", dag_id)
        result["noop"] = _backfill(stack, NOOP_YEARLY_DAG, "2015-01-01", "2024-12-31", 10)
        # the logical date of a cycle's run is its period start: the 2017 cycle starts on 15/10/2016
        result["cycle"] = _backfill(stack, CYCLE_DAG, "2016-10-15", "2026-11-01", 10)
        result["ratio_wall"] = round(result["cycle"]["runs_s"] / result["noop"]["runs_s"], 2)
        result["partial"] = result["cycle"]["partial"] or result["noop"]["partial"]
        result["ratio_per_task_instance"] = round(
            result["cycle"]["s_per_task_instance"] / result["noop"]["s_per_task_instance"], 2
        )
        result["emails_received"] = len(sinks.mail.messages())
    finally:
        stack.stop()
        sinks.stop()
    cleanup(work)
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))

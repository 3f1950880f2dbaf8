"""Scheduler run: the same 2019 cycle of bao_cao_nq51_action_programme under the real scheduler with
LocalExecutor (scheduler, dag-processor and api-server as subprocesses of a throw-away AIRFLOW_HOME), beside
bench_noop with as many mapped instances, triggered one after the other in the same stack.

Times are the DAG runs' own start -> end in the metadata DB (the CLI trigger's start-up is not counted).
"""

from __future__ import annotations

import json
import sys

from bhxh_bench.common import (
    CYCLE,
    CYCLE_DAG,
    NOOP_DAG,
    OBLIGATION,
    PARALLELISM,
    LoopbackSinks,
    RssSampler,
    Stack,
    airflow_env,
    cleanup,
    connection_env,
    dags_with_baseline,
    migrate,
    run_seconds,
    sample_store,
    tmp_dir,
)


def run(quick: bool = False) -> dict:
    from bhxh.calendar.expected import plan_cycle
    work = tmp_dir("scheduler")
    home = work / "home"
    home.mkdir()
    units = len(plan_cycle(OBLIGATION, CYCLE).units)
    store = sample_store(work / "store")
    sinks = LoopbackSinks(work)
    env = airflow_env(home, dags_with_baseline(work), **connection_env(store, sinks.smtp_port, sinks.http_port), BHXH_OUT_DIR=str(work / "reports"))
    result: dict = {"units": units, "task_instances_per_run": units + 5, "parallelism": PARALLELISM}
    stack = Stack(home, env)
    try:
        migrate(env)
        stack.start()
        sampler = RssSampler(stack)
        sampler.start()
        result["startup_to_serialized_s"] = round(stack.wait_dags([CYCLE_DAG, NOOP_DAG]), 1)
        for dag_id in (NOOP_DAG, CYCLE_DAG):
            stack.airflow_cli("dags", "unpause", dag_id)
        pairs = 1 if quick else 2  # a pair is ~80 s on 2 cores
        noop_s, cycle_s = [], []
        for i in range(pairs):
            stack.trigger(NOOP_DAG, f"bench_noop_{i}", {"units": units})
            rows = stack.wait_runs(NOOP_DAG, [f"bench_noop_{i}"], timeout=900)
            noop_s.append(run_seconds(rows))
            result.setdefault("noop_states", []).append(rows[0]["state"])
            stack.trigger(CYCLE_DAG, f"bench_cycle_{i}", {"cycle": CYCLE})
            rows = stack.wait_runs(CYCLE_DAG, [f"bench_cycle_{i}"], timeout=900)
            cycle_s.append(run_seconds(rows))
            result.setdefault("cycle_states", []).append(rows[0]["state"])
        result["cycle_ti"] = stack.task_stats(CYCLE_DAG, [f"bench_cycle_{i}" for i in range(pairs)])
        result["noop_ti"] = stack.task_stats(NOOP_DAG, [f"bench_noop_{i}" for i in range(pairs)])
        result.update(
            cycle_s=min(cycle_s), noop_s=min(noop_s), overhead_ratio=round(min(cycle_s) / min(noop_s), 2),
            cycle_runs_s=cycle_s, noop_runs_s=noop_s,
            noop_s_per_task_instance=round(min(noop_s) / (units + 5), 3),
            emails_received=len(sinks.mail.messages()),
            memory=sampler.stop(),
        )
        result["meets_goal"] = result["overhead_ratio"] <= 1.3
    finally:
        stack.stop()
        sinks.stop()
    cleanup(work)
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))

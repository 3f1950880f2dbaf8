"""Cycle overhead: one full cycle of bao_cao_nq51_action_programme (2019 sample data, as `make demo`) through
`dag.test()`, beside the no-op DAG of the same shape (bench_noop, as many mapped instances) in the same Python
process. Each cycle run gets a fresh store holding the sample submissions and delivers its messages to loopback
SMTP and webhook servers.

One uncounted run of each loads Airflow and our modules in the process. Then the no-op and the cycle alternate,
every cycle between two no-op runs: noop, cycle, noop, cycle, ..., noop. This machine's CPU speed drifts (the
same no-op run took 5.9 s and 9.3 s three minutes apart, CPU time following wall time), so a cycle is compared
with the no-op runs just before and after it: its ratio is cycle / mean(the two no-ops). `overhead_ratio` is
the median of those ratios; the ratio of the fastest cycle to the fastest no-op (the figure before commit e107d23)
is reported beside it as `ratio_of_minima`. After each cycle the no-op runs once more with its mapped
instances failing and skipping as the cycle's did, bracketed the same way, to show Airflow's own cost of that.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bhxh_bench.common import (
    CYCLE,
    CYCLE_DAG,
    NOOP_DAG,
    OBLIGATION,
    LoopbackSinks,
    airflow_env,
    cleanup,
    connection_env,
    dags_with_baseline,
    migrate,
    sample_store,
    tmp_dir,
)

GOAL_RATIO = 1.3


def _child(work: Path, reps: int, units: int) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"], safe_mode=False)
    noop, cycle = bag.dags[NOOP_DAG], bag.dags[CYCLE_DAG]
    out: dict = {"noop": [], "cycle": [], "noop_same_states": [], "states": [], "cycle_ti_states": []}
    runs = 0

    def run_cycle() -> tuple[float, object]:
        nonlocal runs
        runs += 1
        store = sample_store(work / f"store{runs}")  # not timed: the submissions are in a fresh store before the cycle
        os.environ["AIRFLOW_CONN_BHXH_STORE"] = json.dumps({"conn_type": "generic", "extra": {"url": store}})
        os.environ["BHXH_OUT_DIR"] = str(work / f"reports{runs}")
        started = time.perf_counter()
        run = cycle.test(run_conf={"cycle": CYCLE})
        return round(time.perf_counter() - started, 3), run

    def run_noop(**conf) -> tuple[float, object]:
        started = time.perf_counter()
        run = noop.test(run_conf={"units": units, **conf})
        return round(time.perf_counter() - started, 3), run

    run_noop()  # warm-up: Airflow's imports, first DB use
    out["cycle_first_run_s"], _ = run_cycle()  # warm-up: our imports (pandas, openpyxl, docxtpl, apprise)
    seconds, run = run_noop()
    out["noop"].append(seconds)
    out["states"].append(("noop", str(run.state)))
    for _ in range(reps):
        seconds, run = run_cycle()
        out["cycle"].append(seconds)
        out["states"].append(("cycle", str(run.state)))
        states = [str(ti.state) for ti in run.get_task_instances() if ti.task_id == "validate"]
        out["cycle_ti_states"].append({s: states.count(s) for s in sorted(set(states))})
        # the no-op again, its mapped instances ending as the cycle's did (failed, skipped)
        seconds, _ = run_noop(outcomes={"failed": states.count("failed"), "skipped": states.count("skipped")})
        out["noop_same_states"].append(seconds)
        seconds, run = run_noop()
        out["noop"].append(seconds)
        out["states"].append(("noop", str(run.state)))
    return out


def bracketed(runs: list[float], noops: list[float]) -> list[float]:
    """Each run (run i lies between no-op i and no-op i + 1) divided by the mean of the two no-ops around it."""
    if len(noops) != len(runs) + 1:
        raise ValueError("every run needs a no-op before and after it")
    return [round(r / ((noops[i] + noops[i + 1]) / 2), 3) for i, r in enumerate(runs)]


def run(quick: bool = False) -> dict:
    from bhxh.calendar.expected import plan_cycle
    work = tmp_dir("dagtest")
    units = len(plan_cycle(OBLIGATION, CYCLE).units)
    sinks = LoopbackSinks(work)
    env = airflow_env(work / "home", dags_with_baseline(work), **connection_env("sqlite:///unused", sinks.smtp_port, sinks.http_port))
    (work / "home").mkdir()
    reps = 1 if quick else 5
    try:
        migrate(env)
        proc = subprocess.run(
            [sys.executable, "-m", "bhxh_bench.dagtest", "--child", str(work), str(reps), str(units)],
            env=env, capture_output=True, text=True, timeout=1800,
        )
    finally:
        sinks.stop()
    line = next((x for x in reversed(proc.stdout.splitlines()) if x.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        return {"error": (proc.stdout + proc.stderr)[-3000:]}
    data = json.loads(line)
    ratios = bracketed(data["cycle"], data["noop"])
    same_states = bracketed(data["noop_same_states"], data["noop"])
    emails = len(sinks.mail.messages())
    overhead = round(statistics.median(ratios), 2)
    result = {
        "units": units,
        "mapped_instances": units,
        "task_instances": units + 5,
        "cycle_s": statistics.median(data["cycle"]),
        "noop_s": statistics.median(data["noop"]),
        "overhead_ratio": overhead,
        "bracketed_ratios": ratios,
        "ratio_of_minima": round(min(data["cycle"]) / min(data["noop"]), 2),
        "cycle_runs_s": data["cycle"],
        "noop_runs_s": data["noop"],
        "cycle_first_run_s": data["cycle_first_run_s"],
        # Beside a no-op whose mapped instances fail and skip as the cycle's did: Airflow's own cost of failing
        # and skipping, bracketed the same way (ratio to the all-success no-op around it).
        "validate_states": data["cycle_ti_states"][-1] if data["cycle_ti_states"] else {},
        "noop_same_states_runs_s": data["noop_same_states"],
        "same_states_noop_ratio": round(statistics.median(same_states), 2),
        "run_states": data["states"],
        "emails_received": emails,
        "emails_per_cycle": emails / (reps + 1),  # the warm-up cycle delivers too
        "goal_ratio": GOAL_RATIO,
        "meets_goal": overhead <= GOAL_RATIO,
    }
    cleanup(work)
    return result


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(_child(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=1))

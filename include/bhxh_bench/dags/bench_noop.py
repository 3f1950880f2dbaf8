"""The benchmarks' baseline ("mốc so sánh"): DAGs of the same shape as a reporting cycle, whose tasks do nothing.

prepare -> unit_list -> validate (one mapped instance per unit) -> consolidate -> completeness -> notify, like
`bao_cao_<obligation>` in reporting_cycles.py; the param `units` sets how many mapped instances (83 = the 2019
cycle of the Resolution 51 report: 63 provinces + 20 central units). What a run of these costs is Airflow's own
floor; `make bench` reports our cycles as a ratio to it.

- `bench_noop`: no schedule, triggered by the benchmark (dag.test or the scheduler). Its param `outcomes`
  ({"failed": n, "skipped": m}) makes the first n mapped instances fail and the next m skip, as invalid and
  missing units do in a cycle, to show what Airflow's failure and skip handling costs by itself.
- `bench_noop_yearly`: yearly schedule for the backfill baseline (ten yearly runs through `airflow backfill`).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task

DEFAULT_UNITS = 83


def build(dag_id: str, schedule, start_date, end_date=None):
    @dag(
        dag_id=dag_id,
        dag_display_name=f"Benchmark: no-op cycle ({dag_id})",
        description="Same shape as a reporting cycle, tasks do nothing (Airflow's own cost).",
        schedule=schedule,
        start_date=start_date,
        end_date=end_date,
        catchup=False,
        max_active_runs=3,
        tags=["benchmark"],
        default_args={"owner": "benchmark", "retries": 1, "retry_delay": dt.timedelta(minutes=1)},
        params={
            "units": Param(DEFAULT_UNITS, type="integer", minimum=0, description="Số đơn vị / mapped instances"),
            "outcomes": Param({}, type="object", description='{"failed": n, "skipped": m}: end states of the first n + m instances'),
        },
        doc_md="""### Căn cứ / Basis: mốc so sánh của `make bench`

Same shape as a reporting cycle (prepare, unit_list, validate mapped per unit, consolidate, completeness,
notify), tasks that do nothing. See docs/performance.md.
""",
    )
    def noop_dag():
        @task
        def prepare() -> dict:
            units = int(get_current_context()["params"]["units"])
            return {"units": [{"id": f"u{i:05d}", "name": f"Unit {i:05d}"} for i in range(units)]}

        @task
        def unit_list(prepared: dict) -> list[dict]:
            return prepared["units"]

        @task(map_index_template="{{ unit_name }}", retries=0)
        def validate(unit: dict, prepared: dict) -> None:
            ctx = get_current_context()
            ctx["unit_name"] = unit["name"]
            outcomes = ctx["params"].get("outcomes") or {}
            index = int(unit["id"][1:])
            failed = int(outcomes.get("failed", 0))
            if index < failed:
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(f"{unit['name']}: no-op failure")
            if index < failed + int(outcomes.get("skipped", 0)):
                from airflow.sdk.exceptions import AirflowSkipException

                raise AirflowSkipException(f"{unit['name']}: no-op skip")

        # The cycle's consolidate publishes its asset; so does this one (same shape).
        @task(trigger_rule="all_done", outlets=[Asset(name=f"{dag_id}_consolidated", uri=f"bhxh-bench://consolidated/{dag_id}")])
        def consolidate(prepared: dict) -> dict:
            return {}

        @task(trigger_rule="all_done")
        def completeness(prepared: dict, _reports: dict) -> dict:
            return {}

        @task
        def notify(prepared: dict, reports: dict, _complete: dict) -> dict:
            return {}

        prepared = prepare()
        checked = validate.partial(prepared=prepared).expand(unit=unit_list(prepared))
        reports = consolidate(prepared)
        checked >> reports
        notify(prepared, reports, completeness(prepared, reports))

    return noop_dag()


bench_noop = build("bench_noop", None, pendulum.datetime(2019, 1, 1, tz="Asia/Ho_Chi_Minh"))
# Ends before today, so unpausing it never starts a scheduled run; `airflow backfill create` still fills 2015-2024.
bench_noop_yearly = build(
    "bench_noop_yearly", "@yearly", pendulum.datetime(2015, 1, 1, tz="Asia/Ho_Chi_Minh"),
    pendulum.datetime(2024, 12, 31, tz="Asia/Ho_Chi_Minh"),
)

"""DAG file of the scale benchmark (copied into a throw-away dags folder; not part of the project's dags/).

The batching proposed for 3,500 units: `validate` is mapped over *batches* of `batch_size` units (default 100,
35 mapped instances), each named by its first and last unit ("xa_00001 … xa_00100"). Every unit is still
validated in its own transaction and its state is written to the store (validation_results: one row per
cycle and unit), printed one line per unit in the batch's log, and counted by `completeness`, which reads the
store. Re-running units: clear their batch in the grid (idempotent, a batch takes a few seconds), or trigger
with the param `units` = ["xa_00042", ...] to validate just those and re-consolidate.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

BATCH_SIZE = 100


@dag(
    dag_id="bench_scale",
    schedule=None,
    start_date=pendulum.datetime(2019, 1, 1, tz="Asia/Ho_Chi_Minh"),
    catchup=False,
    tags=["benchmark"],
    default_args={"owner": "benchmark", "retries": 1, "retry_delay": dt.timedelta(seconds=10)},
    params={
        "cycle": Param("2019", type="string"),
        "batch_size": Param(BATCH_SIZE, type="integer", minimum=1),
        "units": Param([], type="array", description="Chỉ chạy lại các đơn vị này / re-run only these units"),
    },
)
def bench_scale():
    @task
    def prepare() -> dict:
        from bhxh.calendar.expected import plan_cycle
        from bhxh.store.engine import init_store
        from bhxh_bench.synthetic import OBLIGATION, synthetic_registry
        from common.wiring import store_url

        params = get_current_context()["params"]
        init_store(store_url())
        plan = plan_cycle(OBLIGATION, params["cycle"], registry=synthetic_registry())
        chosen = set(params.get("units") or [])
        ids = [u.id for u in plan.units if not chosen or u.id in chosen]
        size = int(params["batch_size"])
        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        return {
            "cycle": params["cycle"],
            "expected": len(plan.units),
            "batches": [{"label": f"{b[0]} … {b[-1]} ({len(b)})", "units": b} for b in batches],
        }

    @task
    def batch_list(prepared: dict) -> list[dict]:
        return prepared["batches"]

    @task(map_index_template="{{ batch_label }}", retries=1)
    def validate(batch: dict, prepared: dict) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from bhxh.calendar.expected import plan_cycle
        from bhxh.steps.cycle import validate_unit
        from bhxh.store.engine import session_factory
        from bhxh_bench.synthetic import OBLIGATION, synthetic_registry
        from common.wiring import store_url

        get_current_context()["batch_label"] = batch["label"]
        registry = synthetic_registry()
        plan = plan_cycle(OBLIGATION, prepared["cycle"], registry=registry)
        maker = session_factory(store_url())
        states: dict[str, int] = {}
        invalid = []
        for unit_id in batch["units"]:
            with maker() as session, session.begin():  # one unit, one transaction: a crash loses nothing done
                outcome = validate_unit(session, plan, unit_id, registry=registry)
            states[outcome.state] = states.get(outcome.state, 0) + 1
            print(f"{unit_id}: {outcome.state}")
            if outcome.state == "invalid":
                invalid.append(unit_id)
        if invalid:
            raise AirflowFailException(f"{len(invalid)} đơn vị không hợp lệ / invalid: {', '.join(invalid)}")
        return states

    @task(trigger_rule="all_done")
    def consolidate(prepared: dict) -> dict:
        from bhxh.calendar.expected import plan_cycle
        from bhxh.reports.consolidation import consolidate as build
        from bhxh.reports.documents import render_reports
        from bhxh.store.engine import session_factory
        from bhxh_bench.synthetic import OBLIGATION, synthetic_registry
        from common.wiring import out_dir, store_url

        plan = plan_cycle(OBLIGATION, prepared["cycle"], registry=synthetic_registry())
        with session_factory(store_url())() as session:
            cons = build(session, plan)
        return render_reports(cons, out_dir())

    @task(trigger_rule="all_done")
    def completeness(prepared: dict, _reports: dict) -> dict:
        from bhxh.calendar.expected import plan_cycle
        from bhxh.reports.consolidation import completeness as check
        from bhxh.store.engine import session_factory
        from bhxh_bench.synthetic import OBLIGATION, synthetic_registry
        from common.wiring import store_url

        plan = plan_cycle(OBLIGATION, prepared["cycle"], registry=synthetic_registry())
        with session_factory(store_url())() as session:
            result = check(session, plan)
        print(f"expected {result['expected']}: {result['counts']}; not checked: {len(result['not_checked'])}")
        return {"expected": result["expected"], "counts": result["counts"], "not_checked": len(result["not_checked"])}

    @task
    def notify(prepared: dict, reports: dict, _complete: dict) -> dict:
        from bhxh.calendar.expected import plan_cycle
        from bhxh.notify.channels import apprise_sender
        from bhxh.notify.outbox import deliver_pending, enqueue
        from bhxh.reports.consolidation import consolidate as build
        from bhxh.steps.messages import cycle_messages
        from bhxh.store.engine import session_factory
        from bhxh_bench.synthetic import OBLIGATION, synthetic_registry
        from common.wiring import channel_urls, store_url

        plan = plan_cycle(OBLIGATION, prepared["cycle"], registry=synthetic_registry())
        maker = session_factory(store_url())
        with maker() as session, session.begin():
            queued = enqueue(session, cycle_messages(build(session, plan), reports))
        result = deliver_pending(maker, apprise_sender(channel_urls()), obligation_id=OBLIGATION, cycle_key=plan.cycle.key)
        return {"queued": queued, **result}

    prepared = prepare()
    checked = validate.partial(prepared=prepared).expand(batch=batch_list(prepared))
    reports = consolidate(prepared)
    checked >> reports
    notify(prepared, reports, completeness(prepared, reports))


bench_scale()

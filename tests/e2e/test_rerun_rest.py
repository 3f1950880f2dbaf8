"""Re-running one province through Airflow's REST API with Airflow's own Python client (apache-airflow-client),
against a running `airflow standalone` (scheduler + LocalExecutor, dag-processor, api-server, triggerer).

The cycle nq51_action_programme 2019 runs on the demo's sample data; then a unit that was invalid sends a
corrected file (later, so late), the test clears ONLY that unit's mapped `validate` instance
(clearTaskInstances with task_ids [["validate", map_index]], include_downstream) and checks that the unit is
now late in the store, that the consolidated report's counts moved by one, and that the other units'
`validate` instances were not run again (same try_number).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from pathlib import Path

import airflow_client.client as client
import pytest
from test_status_board import OB, AirflowProcess, free_port, sample_store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAG_ID = f"bao_cao_{OB}"
CYCLE = "2019"
FINISHED = {"success", "failed"}
RUN_TIMEOUT = float(os.environ.get("BHXH_E2E_RUN_TIMEOUT", "240"))  # seconds per wait for the run to finish


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    """A running Airflow (standalone) with a store holding the sample submissions (not yet checked), mail and
    chat sinks for the notify step, and an authenticated client."""
    from bhxh.cli.demo import apprise_connection
    from bhxh.devservers import LoopbackSinks

    tmp = tmp_path_factory.mktemp("rerun")
    store_url, sample = sample_store(tmp, check=False)
    sinks = LoopbackSinks(tmp)
    server = AirflowProcess(tmp / "airflow_home", command="standalone", env={
        "AIRFLOW_CONN_BHXH_STORE": json.dumps({"conn_type": "generic", "extra": {"url": store_url}}),
        "AIRFLOW_CONN_BHXH_APPRISE": apprise_connection(sinks.smtp_port, sinks.http_port),
        "BHXH_OUT_DIR": str(tmp / "reports"),
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
    })
    try:
        server.start(timeout=180)
        config = client.Configuration(host=server.base, access_token=server.login())
        with client.ApiClient(config) as api:
            yield {"api": api, "server": server, "store_url": store_url, "tmp": tmp, "sample": sample}
    finally:
        server.stop()
        sinks.stop()


def _wait_run(api, run_id: str, timeout: float = RUN_TIMEOUT) -> str:
    runs = client.DagRunApi(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = str(runs.get_dag_run(DAG_ID, run_id).state.value)
        if state in FINISHED:
            return state
        _stop_other_runs(api, run_id)
        time.sleep(2)
    tis = client.TaskInstanceApi(api).get_task_instances(DAG_ID, run_id, limit=500).task_instances
    states: dict[str, int] = {}
    for ti in tis:
        key = f"{ti.task_id}:{ti.state.value if ti.state else None}"
        states[key] = states.get(key, 0) + 1
    raise AssertionError(f"run {run_id} not finished in {timeout}s: {states}")


def _stop_other_runs(api, ours: str) -> None:
    """Unpausing lets the scheduler create the latest due cycle's run (catchup=False); it is not this test's:
    mark it failed through the API so it does not compete for the two CPUs."""
    runs = client.DagRunApi(api)
    for run in runs.get_dag_runs(DAG_ID, limit=50).dag_runs:
        if run.dag_run_id != ours and str(run.state.value) in ("queued", "running"):
            runs.patch_dag_run(DAG_ID, run.dag_run_id, client.DAGRunPatchBody(state=client.DagRunMutableStates.FAILED))


def _validate_tis(api, run_id: str) -> dict[int, object]:
    tis = client.TaskInstanceApi(api).get_mapped_task_instances(DAG_ID, run_id, "validate", limit=500)
    return {ti.map_index: ti for ti in tis.task_instances}


def _summary(tmp: Path) -> dict:
    return json.loads((tmp / "reports" / OB / CYCLE / "tong_hop.json").read_text(encoding="utf-8"))


def _corrected_file(tmp: Path, unit) -> tuple[bytes, str]:
    from bhxh.calendar.forms import file_name, get_form
    from bhxh.cli.sample import sample_values
    from bhxh.intake.forms_xlsx import form_rows, write_report_xlsx
    from bhxh_bench.hostile_files import fill_tasks

    form = get_form("nq51_indicators")
    rows = form_rows(form, sample_values(random.Random(f"fix/{unit.id}"), unit.group))
    name = file_name(OB, CYCLE, unit.id)
    path = write_report_xlsx(tmp / "fixed" / name, form, {"unit": unit.id, "obligation": OB, "period": CYCLE}, rows, unit_name=unit.name)
    fill_tasks(path, unit.id, CYCLE)  # a plan-based report carries its task sheets (issue 18)
    return path.read_bytes(), name


def test_clear_one_province_through_rest(airflow):
    from sqlalchemy import select

    from bhxh.calendar.expected import plan_cycle
    from bhxh.intake.submission import ingest
    from bhxh.store.engine import session_factory
    from bhxh.store.models import ValidationResult

    api, tmp = airflow["api"], airflow["tmp"]
    started = time.monotonic()
    dags = client.DAGApi(api)
    deadline = time.monotonic() + 90
    while True:  # the dag-processor has to parse the DAGs first
        try:
            dags.get_dag(DAG_ID)
            break
        except client.ApiException as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(2)
    run = client.DagRunApi(api).trigger_dag_run(DAG_ID, client.TriggerDAGRunPostBody(logical_date=None, conf={"cycle": CYCLE}))
    dags.patch_dag(DAG_ID, client.DAGPatchBody(is_paused=False))
    # invalid units fail their validate task; the run itself ends with its leaves (all_done), usually success
    assert _wait_run(api, run.dag_run_id) in FINISHED
    first_run = time.monotonic() - started
    before = _summary(tmp)
    tis_before = _validate_tis(api, run.dag_run_id)
    plan = plan_cycle(OB, CYCLE)
    assert len(tis_before) == len(plan.units) == before["expected"]

    # a unit that was invalid resubmits a valid file, after the deadline
    invalid = [u for u in plan.units if before["units"][u.id]["state"] == "invalid"]
    assert invalid, before
    unit = invalid[0]
    index = next(i for i, u in enumerate(plan.units) if u.id == unit.id)
    assert tis_before[index].rendered_map_index == unit.name  # the grid names the mapped task by unit
    assert str(tis_before[index].state.value) == "failed"
    content, name = _corrected_file(tmp, unit)
    maker = session_factory(airflow["store_url"])
    with maker() as s, s.begin():
        result = ingest(s, content, name, dt.datetime.now(dt.UTC))
    assert result.status == "accepted", result.errors

    # clear only that unit's mapped instance, and the steps downstream of it
    body = client.ClearTaskInstancesBody(
        dag_run_id=run.dag_run_id, dry_run=False, only_failed=False, include_downstream=True, reset_dag_runs=True,
        task_ids=[client.ClearTaskInstancesBodyTaskIdsInner(["validate", index])],
    )
    cleared = client.TaskInstanceApi(api).post_clear_task_instances(DAG_ID, body)
    cleared_keys = {(ti.task_id, ti.map_index) for ti in cleared.task_instances}
    assert ("validate", index) in cleared_keys
    assert not [k for k in cleared_keys if k[0] == "validate" and k[1] != index], cleared_keys
    assert {"consolidate", "completeness", "notify"} <= {k[0] for k in cleared_keys}
    rerun_started = time.monotonic()
    final = _wait_run(api, run.dag_run_id)
    rerun = time.monotonic() - rerun_started

    with maker() as s:
        stored = s.scalar(select(ValidationResult).where(
            ValidationResult.obligation_id == OB, ValidationResult.cycle_key == CYCLE, ValidationResult.unit_id == unit.id))
    assert stored.state in ("late", "on_time") and stored.state == "late"
    assert stored.submission_id == result.submission_id
    after = _summary(tmp)
    assert after["units"][unit.id]["state"] == "late"
    assert after["invalid"] == before["invalid"] - 1
    assert after["late"] == before["late"] + 1
    assert (after["on_time"], after["missing"]) == (before["on_time"], before["missing"])
    assert after["totals"]["NHIEM_VU_GIAO"] > before["totals"]["NHIEM_VU_GIAO"]  # its figures now count

    tis_after = _validate_tis(api, run.dag_run_id)
    assert tis_after[index].try_number == tis_before[index].try_number + 1
    assert str(tis_after[index].state.value) == "success"
    for i, ti in tis_before.items():
        if i != index:
            assert tis_after[i].try_number == ti.try_number, (i, ti.rendered_map_index)
            assert tis_after[i].state == ti.state
    assert final in FINISHED
    # the other invalid units still fail; the refreshed steps ran again
    refreshed = client.TaskInstanceApi(api).get_task_instance(DAG_ID, run.dag_run_id, "consolidate")
    assert refreshed.try_number >= 2
    print(f"first run {first_run:.0f}s, re-run of one unit {rerun:.0f}s")

"""Backfill through real Airflow 3.3 with the project's DAGs: a fresh AIRFLOW_HOME with a SQLite metadata DB,
`airflow db migrate`, `airflow dags reserialize`, then `airflow backfill create`. The runs are only created (the
backfill command writes them to the metadata DB, queued); no scheduler runs them."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from bhxh.calendar.catalogue import cycle_for_interval, default_catalogue
from bhxh.calendar.expected import plan_cycle

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = ROOT / ".venv" / "bin" / "airflow"
ICT = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("airflow_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "BHXH_TEMPLATES_DIR": str(ROOT / "templates"),
        "PATH": f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    run("db", "migrate")
    run("dags", "reserialize")
    run.db = home / "airflow.db"  # type: ignore[attr-defined]
    return run


def _runs(db: Path, dag_id: str) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT run_id, run_type, state, data_interval_start, data_interval_end, run_after, backfill_id "
            "FROM dag_run WHERE dag_id = ? ORDER BY data_interval_start",
            (dag_id,),
        ).fetchall()
    return [dict(r) for r in rows]


def _aware(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _list_runs(airflow, dag_id: str) -> list[dict]:
    out = airflow("dags", "list-runs", dag_id, "-o", "json").stdout
    # warnings (graphviz, ...) may precede the JSON on stdout: take the last line that is a JSON list
    line = next(x for x in reversed(out.splitlines()) if x.startswith("[{") or x == "[]")
    return json.loads(line)


def test_all_dags_serialized(airflow) -> None:
    with sqlite3.connect(airflow.db) as conn:
        dag_ids = {r[0] for r in conn.execute("SELECT dag_id FROM serialized_dag")}
    # one DAG per obligation (other DAG files of the project may add more)
    assert {f"bao_cao_{ob.id}" for ob in default_catalogue()} <= dag_ids


def test_one_off_backfill_creates_exactly_one_run(airflow) -> None:
    dag_id = "bao_cao_org_restructuring_2019"
    airflow("backfill", "create", "--dag-id", dag_id, "--from-date", "2017-01-01", "--to-date", "2026-11-01")
    runs = _runs(airflow.db, dag_id)
    assert len(runs) == 1 and len(_list_runs(airflow, dag_id)) == 1
    run = runs[0]
    assert run["run_type"] == "backfill" and run["backfill_id"] is not None
    assert _aware(run["data_interval_start"]).astimezone(ICT) == dt.datetime(2019, 7, 19, tzinfo=ICT)
    # data to 12/12/2019: Điều 8 khoản 5 leaves Fri 13/12 before the deadline (catalogue.yaml's header)
    assert _aware(run["data_interval_end"]).astimezone(ICT) == dt.datetime(2019, 12, 13, tzinfo=ICT)
    # run_after = due_at: 14/12/2019 is a Saturday -> hết ngày 16/12 -> 17/12/2019 00:00 +07:00
    assert _aware(run["run_after"]).astimezone(ICT) == dt.datetime(2019, 12, 17, tzinfo=ICT)
    plan = plan_cycle("org_restructuring_2019", "2019")
    assert Counter(u.group for u in plan.units)["provincial"] == 63


def test_yearly_backfill_one_run_per_cycle_with_its_own_units(airflow) -> None:
    dag_id = "bao_cao_nq51_action_programme"
    # The logical date of a run is its period start: the 2017 cycle covers 15/10/2016 - 14/10/2017.
    airflow("backfill", "create", "--dag-id", dag_id, "--from-date", "2016-10-15", "--to-date", "2026-11-01")
    runs = _runs(airflow.db, dag_id)
    assert len(runs) == 10 and len(_list_runs(airflow, dag_id)) == 10
    cat = default_catalogue()
    keys = []
    for run in runs:
        start, end = _aware(run["data_interval_start"]), _aware(run["data_interval_end"])
        cycle = cycle_for_interval(cat, "nq51_action_programme", start)
        keys.append(cycle.key)
        assert start == cycle.interval_start and end == cycle.interval_end
        assert _aware(run["run_after"]) == cycle.due_at
        assert run["run_type"] == "backfill"
        plan = plan_cycle("nq51_action_programme", cycle.key)
        provincial = Counter(u.group for u in plan.units)["provincial"]
        year = int(cycle.key)
        assert provincial == (63 if year <= 2024 else 34), cycle.key
        if year >= 2025:
            assert plan.recipient is None and plan.flags  # Vụ KH&ĐT ceased 28/02/2025, no successor named
        else:
            assert plan.recipient is not None and plan.recipient.id == "vu_khdt"
    assert keys == [str(y) for y in range(2017, 2027)]
    assert _aware(runs[2]["data_interval_start"]).astimezone(ICT).date() == dt.date(2018, 10, 15)  # cycle 2019


def test_backfill_from_2017_starts_with_the_cycle_whose_period_starts_in_2017(airflow) -> None:
    dag_id = "bao_cao_cashless_payment_report"
    airflow("backfill", "create", "--dag-id", dag_id, "--from-date", "2017-01-01", "--to-date", "2026-11-01")
    keys = [cycle_for_interval(default_catalogue(), "cashless_payment_report", _aware(r["data_interval_start"])).key
            for r in _runs(airflow.db, dag_id)]  # fmt: skip
    assert keys == [str(y) for y in range(2021, 2027)]


def test_future_dates_are_refused(airflow) -> None:
    proc = airflow(
        "backfill", "create", "--dag-id", "bao_cao_tthc_control_quarterly",
        "--from-date", "2030-01-01", "--to-date", "2030-12-31", check=False,
    )  # fmt: skip
    assert "future" in (proc.stdout + proc.stderr).lower()
    assert _runs(airflow.db, "bao_cao_tthc_control_quarterly") == []

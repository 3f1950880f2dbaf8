"""Every DAG file imports, parses quickly, and every DAG serializes (an import test alone misses
serialization errors); tags, owners and retries are set; mapped unit tasks are named by unit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_one_dag_per_obligation(dagbag):
    from bhxh.calendar.catalogue import default_catalogue

    expected = {f"bao_cao_{ob.id}" for ob in default_catalogue()}
    assert expected <= set(dagbag.dag_ids)


def test_only_the_calendar_s_dags(dagbag):
    """What a deployment's dag-processor parses: the reporting DAGs, intake and reminders; no benchmark DAG
    (they live in include/bhxh_bench/dags/ and are copied into a throw-away folder by `make bench`)."""
    from bhxh.calendar.catalogue import default_catalogue

    expected = {f"bao_cao_{ob.id}" for ob in default_catalogue()} | {"tiep_nhan_bao_cao", "nhac_han_bao_cao"}
    assert set(dagbag.dag_ids) == expected


def test_every_dag_serializes(dagbag):
    from airflow.serialization.serialized_objects import DagSerialization

    for dag_id, dag in dagbag.dags.items():
        data = DagSerialization.to_dict(dag)
        back = DagSerialization.from_dict(data)
        assert back.dag_id == dag_id
        assert type(back.timetable).__name__ == type(dag.timetable).__name__


def test_tags_owner_retries(dagbag):
    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        assert dag.doc_md, dag.dag_id
        if dag.dag_id.startswith("bao_cao_"):
            assert "Căn cứ" in dag.doc_md  # every reporting DAG quotes its legal basis
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", task.task_id


def test_validate_is_mapped_and_named_by_unit(dagbag):
    dag = dagbag.dags["bao_cao_nq51_action_programme"]
    validate = dag.get_task("validate")
    assert validate.map_index_template == "{{ unit_name }}"


def test_parse_time_per_file():
    from airflow.dag_processing.dagbag import DagBag

    for path in sorted(DAGS.glob("*.py")):
        started = time.perf_counter()
        bag = DagBag(dag_folder=str(path))
        elapsed = time.perf_counter() - started
        print(f"parse {path.name}: {elapsed:.3f} s, {len(bag.dags)} DAGs")
        assert not bag.import_errors
        assert elapsed < 5.0, f"{path.name} takes {elapsed:.2f} s to parse"

"""One DAG per obligation of the reporting calendar ("lịch báo cáo"), generated from the catalogue by
dags/common/factory.py. Each run is one cycle: prepare (who must report) -> validate each unit (one mapped task
per unit, named by unit) -> consolidate and render -> completeness (read from the store) -> notify by e-mail
and chat. Obligations that wait for an approval live in reporting_cycles_approval.py (the approval operator is
slow to import, and this file is parsed often).
"""

from __future__ import annotations

from airflow.sdk import dag  # noqa: F401  (the dag-processor parses files that mention both "airflow" and "dag")

from bhxh.steps.dags import dag_id_for, obligations
from common.factory import build_dag

for _ob in obligations():
    if not _ob.approval:
        globals()[dag_id_for(_ob.id)] = build_dag(_ob)

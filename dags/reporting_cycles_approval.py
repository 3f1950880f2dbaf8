"""The reporting DAGs whose consolidated report waits for an approval in the UI before it goes upward
("trình Lãnh đạo Ngành"), generated from the catalogue like the others (dags/common/factory.py)."""

from __future__ import annotations

from airflow.sdk import dag  # noqa: F401  (the dag-processor parses files that mention both "airflow" and "dag")

from bhxh.steps.dags import dag_id_for, obligations
from common.factory import build_dag

for _ob in obligations():
    if _ob.approval:
        globals()[dag_id_for(_ob.id)] = build_dag(_ob)

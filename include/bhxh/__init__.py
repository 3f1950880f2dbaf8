"""Domain package of the BHXH reporting calendar: plain Python, no Airflow import.

The path a report takes, one package per stage (docs/architecture.md): `calendar` and `store` at the bottom,
`intake`, `reports` and `notify` above them, `steps` on top (what the DAGs call), `cli` for people.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the checkout: include/bhxh/ -> the project's root

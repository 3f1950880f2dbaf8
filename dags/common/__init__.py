"""Airflow-side wiring shared by the DAG files (connections, paths); the domain lives in include/bhxh."""

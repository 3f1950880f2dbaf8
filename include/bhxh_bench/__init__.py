"""Benchmarks of the project (`make bench`), each beside Airflow's own floor; outside the domain package, and
their DAGs outside dags/, so that no deployment parses them.
"""

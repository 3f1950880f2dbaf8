"""DAG files of the benchmarks, copied into a throw-away dags folder by the benchmark that runs them.
"""

"""Parse time of each DAG file and of the whole dags folder, as the dag-processor sees it: a fresh Python
process per measurement with Airflow already imported, then `DagBag(file)` timed. During the parse,
socket connects, `sqlalchemy.create_engine`, `sqlite3.connect` and `psycopg.connect` are counted: importing a
DAG file must open no database or network connection.

Baseline: bench_noop.py (include/bhxh_bench/dags/, two DAGs that import nothing of ours), parsed beside the
project's DAG files in a throw-away copy of the dags folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bhxh_bench.common import airflow_env, cleanup, dags_with_baseline, median, tmp_dir

GOAL_S = 0.5


def _child(target: str, preimport: bool = False) -> dict:
    """Runs inside the subprocess: Airflow imported first (the dag-processor has it), then the timed parse.

    With `preimport`, the airflow.* modules the file imports are imported first, as the dag-processor does
    ([dag_processor] parsing_pre_import_modules) before it times a file's parse.
    """
    import importlib
    import socket
    import sqlite3
    import traceback

    import sqlalchemy
    from airflow.dag_processing.dagbag import DagBag

    if preimport:
        from airflow.utils.file import iter_airflow_imports

        files = [target] if target.endswith(".py") else [str(p) for p in Path(target).rglob("*.py")]
        for file in files:
            for module in iter_airflow_imports(file):
                try:
                    importlib.import_module(module)
                except Exception:  # noqa: S112 (the processor only logs these too)
                    continue
    calls: list[str] = []

    def counting(name, original):
        def wrapper(*args, **kwargs):
            stack = [f"{f.filename}:{f.lineno}" for f in traceback.extract_stack()[-8:-1]]
            calls.append(f"{name} {args[1:2] if name == 'socket.connect' else ''} from {' < '.join(reversed(stack[-3:]))}")
            return original(*args, **kwargs)

        return wrapper

    patches = [
        (socket.socket, "connect", counting("socket.connect", socket.socket.connect)),
        (socket.socket, "connect_ex", counting("socket.connect_ex", socket.socket.connect_ex)),
        (sqlalchemy, "create_engine", counting("sqlalchemy.create_engine", sqlalchemy.create_engine)),
        (sqlite3, "connect", counting("sqlite3.connect", sqlite3.connect)),
    ]
    try:
        import psycopg

        patches.append((psycopg, "connect", counting("psycopg.connect", psycopg.connect)))
    except ImportError:
        pass
    originals = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    for obj, name, fn in patches:
        setattr(obj, name, fn)
    try:
        started = time.perf_counter()
        bag = DagBag(dag_folder=target, safe_mode=False)
        elapsed = time.perf_counter() - started
    finally:
        for obj, name, fn in originals:
            setattr(obj, name, fn)
    return {
        "seconds": round(elapsed, 4),
        "dags": len(bag.dags),
        "import_errors": {k: v[-500:] for k, v in bag.import_errors.items()},
        "connections": calls,
    }


def measure(target: Path, env: dict[str, str], preimport: bool = False) -> dict:
    args = [sys.executable, "-m", "bhxh_bench.parse", "--child", str(target)] + (["--preimport"] if preimport else [])
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    line = next((x for x in reversed(proc.stdout.splitlines()) if x.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        return {"error": (proc.stdout + proc.stderr)[-2000:]}
    return json.loads(line)


def run(quick: bool = False) -> dict:
    home = tmp_dir("parse")
    dags = dags_with_baseline(home)
    env = airflow_env(home, dags)
    repeats = 1 if quick else 3
    files = sorted(dags.glob("*.py"))
    per_file = {}
    for path in files:
        samples = [measure(path, env) for _ in range(repeats)]
        ok = [s for s in samples if "seconds" in s]
        if not ok:
            per_file[path.name] = {"error": samples[0].get("error")}
            continue
        pre = [] if quick else [measure(path, env, preimport=True) for _ in range(repeats)]
        per_file[path.name] = {
            "seconds": median([s["seconds"] for s in ok]),
            "seconds_preimported": median([s["seconds"] for s in pre if "seconds" in s]) if pre else None,
            "samples": [s["seconds"] for s in ok],
            "dags": ok[0]["dags"],
            "import_errors": ok[0]["import_errors"],
            "connections_at_import": len(ok[0]["connections"]),
            "connection_calls": ok[0]["connections"][:5],
        }
    folder = [measure(dags, env) for _ in range(repeats)]
    ok = [s for s in folder if "seconds" in s]
    baseline = per_file.get("bench_noop.py", {}).get("seconds")
    ours = {k: v for k, v in per_file.items() if k != "bench_noop.py"}
    worst = max((v.get("seconds", float("inf")) for v in ours.values()), default=float("nan"))
    result = {
        "per_file": per_file,
        "folder_s": median([s["seconds"] for s in ok]) if ok else None,
        "folder_dags": ok[0]["dags"] if ok else None,
        "folder_connections_at_import": len(ok[0]["connections"]) if ok else None,
        "baseline_file": "bench_noop.py",
        "baseline_s": baseline,
        "worst_file_s": worst,
        "worst_ratio_to_baseline": round(worst / baseline, 2) if baseline else None,
        "goal_per_file_s": GOAL_S,
        "meets_goal": all(v.get("seconds", 99) < GOAL_S for v in per_file.values()),
        "meets_goal_preimported": None if quick else all((v.get("seconds_preimported") or 99) < GOAL_S for v in per_file.values()),
        "no_connections_at_import": all(v.get("connections_at_import", 1) == 0 for v in per_file.values())
        and bool(ok) and len(ok[0]["connections"]) == 0,
        "repeats": repeats,
    }
    cleanup(home)
    return result


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2], preimport="--preimport" in sys.argv)))
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=1))

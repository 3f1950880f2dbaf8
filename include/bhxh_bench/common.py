"""Shared helpers of the benchmarks: Airflow environments in throw-away homes, the scheduler stack started as
subprocesses (scheduler, dag-processor, api-server with LocalExecutor), polling the metadata DB, peak RSS.

Plain Python; Airflow is only ever started as a subprocess from here.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from bhxh import PROJECT_ROOT
from bhxh.devservers import LoopbackSinks, free_port  # noqa: F401 -- the measurements take them from here

ROOT = PROJECT_ROOT
DAGS = ROOT / "dags"
BENCH_DAGS = Path(__file__).resolve().parent / "dags"  # the benchmarks' own DAG files, never in dags/
PLUGINS = ROOT / "plugins"
VENV_BIN = Path(sys.executable).parent
AIRFLOW = str(VENV_BIN / "airflow") if (VENV_BIN / "airflow").exists() else "airflow"
OBLIGATION, CYCLE = "nq51_action_programme", "2019"
CYCLE_DAG, NOOP_DAG, NOOP_YEARLY_DAG = f"bao_cao_{OBLIGATION}", "bench_noop", "bench_noop_yearly"
PARALLELISM = int(os.environ.get("BHXH_BENCH_PARALLELISM", "4"))


def tmp_dir(prefix: str) -> Path:
    base = Path(os.environ.get("BHXH_BENCH_TMP") or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"bhxh_bench_{prefix}_", dir=base))


def dags_with_baseline(work: Path) -> Path:
    """A throw-away dags folder: the project's DAG files (and dags/common) beside the no-op baseline
    bench_noop.py, which lives with the benchmarks so that no deployment parses it."""
    target = work / "dags"
    shutil.copytree(DAGS, target, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(BENCH_DAGS / "bench_noop.py", target / "bench_noop.py")
    return target


def airflow_env(home: Path, dags_folder: Path, **extra: str) -> dict[str, str]:
    """The environment of an Airflow home of its own (SQLite metadata DB), the project's plugins, no examples."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "BHXH_TEMPLATES_DIR": str(ROOT / "templates"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(dags_folder), str(PLUGINS)]),
    }
    env.update(extra)
    return env


def airflow(env: dict[str, str], *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def migrate(env: dict[str, str]) -> float:
    started = time.perf_counter()
    airflow(env, "db", "migrate")
    return time.perf_counter() - started


def connection_env(store_url: str, smtp_port: int, http_port: int) -> dict[str, str]:
    from bhxh.cli.demo import apprise_connection

    return {
        "AIRFLOW_CONN_BHXH_APPRISE": apprise_connection(smtp_port, http_port),
        "AIRFLOW_CONN_BHXH_STORE": json.dumps({"conn_type": "generic", "extra": {"url": store_url}}),
        "BHXH_STORE_URL": store_url,
    }


def sample_store(folder: Path, obligation: str = OBLIGATION, cycle: str = CYCLE) -> str:
    """A fresh SQLite store holding the demo's sample submissions of one cycle; returns its URL."""
    import datetime as dt

    from bhxh.cli.sample import generate, read_manifest
    from bhxh.intake.submission import ingest
    from bhxh.store.engine import init_store, session_factory

    inbox = folder / "inbox"
    if not (inbox / "manifest.json").exists():
        generate(inbox, obligation, cycle)
    url = f"sqlite:///{folder / 'store.sqlite'}"
    init_store(url)
    with session_factory(url)() as session, session.begin():
        for item in read_manifest(inbox):
            path = Path(item.path)
            ingest(session, path.read_bytes(), path.name, dt.datetime.fromisoformat(item.received_at))
    return url


# -- the scheduler stack ----------------------------------------------------------------------------------
class Stack:
    """scheduler + dag-processor + api-server (LocalExecutor) as subprocesses of a throw-away AIRFLOW_HOME."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.port = free_port()
        self.env = env | {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(PARALLELISM),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # only the runs we trigger or backfill
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            # other Airflows may run on this machine: every port of ours is a free one
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.groups: set[int] = set()
        self.db = home / "airflow.db"

    def start(self, components: Iterable[str] = ("api-server", "dag-processor", "scheduler")) -> None:
        for name in components:
            self.start_one(name)

    def start_one(self, name: str) -> subprocess.Popen:
        log = (self.home / f"{name}.log").open("ab")
        proc = subprocess.Popen([AIRFLOW, name], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        self.groups.add(proc.pid)  # start_new_session: its pid is its process group
        return proc

    def kill_one(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        if sig == signal.SIGKILL:
            proc.send_signal(sig)  # the scheduler only: its task children live on, as after a real crash
            proc.wait(timeout=30)
            return
        _stop_group(proc)

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill_one(name)
        # LocalExecutor workers may outlive their parent (AIRFLOW_NOTES): stop what is left of our process groups.
        kill_orphans()
        for pgid in list(self.groups):  # e.g. the workers of a scheduler killed with SIGKILL
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            self.groups.discard(pgid)

    def wait_dags(self, dag_ids: Iterable[str], timeout: float = 240) -> float:
        wanted, started = set(dag_ids), time.monotonic()
        while time.monotonic() - started < timeout:
            if self.db.exists():
                have = {r["dag_id"] for r in query(self.db, "SELECT dag_id FROM serialized_dag")}
                if wanted <= have:
                    return time.monotonic() - started
            self._check_alive()
            time.sleep(1)
        raise TimeoutError(f"DAGs {wanted} not serialized after {timeout} s; see {self.home}/dag-processor.log")

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.home / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"airflow {name} exited ({proc.returncode}):\n{tail}")

    def wait_api(self, timeout: float = 120) -> None:
        import urllib.request

        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/monitor/health", timeout=2):  # noqa: S310
                    return
            except OSError:
                self._check_alive()
                time.sleep(1)
        raise TimeoutError("api-server did not answer")

    def airflow_cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return airflow(self.env, *args, check=check)

    def trigger(self, dag_id: str, run_id: str, conf: dict | None = None) -> None:
        airflow(self.env, "dags", "trigger", dag_id, "-r", run_id, "-c", json.dumps(conf or {}))

    def wait_runs(self, dag_id: str, run_ids: Iterable[str] | None = None, *, run_type: str | None = None,
                  count: int | None = None, timeout: float = 900, check_alive: bool = True) -> list[dict]:
        """Wait until the runs are finished (success/failed); returns their rows."""
        started = time.monotonic()
        ids = list(run_ids or [])
        while True:
            rows = self.runs(dag_id, ids, run_type)
            done = [r for r in rows if r["state"] in ("success", "failed")]
            if rows and len(done) == len(rows) and (count is None or len(done) >= count) and (not ids or len(rows) == len(ids)):
                return rows
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{dag_id}: runs not finished after {timeout} s: {[(r['run_id'], r['state']) for r in rows]}")
            if check_alive:
                self._check_alive()
            time.sleep(1)

    def runs(self, dag_id: str, run_ids: list[str] | None = None, run_type: str | None = None) -> list[dict]:
        sql = "SELECT run_id, run_type, state, queued_at, start_date, end_date FROM dag_run WHERE dag_id = ?"
        args: list = [dag_id]
        if run_type:
            sql += " AND run_type = ?"
            args.append(run_type)
        rows = query(self.db, sql, args)
        if run_ids:
            rows = [r for r in rows if r["run_id"] in run_ids]
        return rows

    def task_stats(self, dag_id: str, run_ids: Iterable[str]) -> dict:
        ids = list(run_ids)
        marks = ",".join("?" * len(ids))
        rows = query(self.db, f"SELECT state, duration FROM task_instance WHERE dag_id = ? AND run_id IN ({marks})", [dag_id, *ids])
        states: dict[str, int] = {}
        for r in rows:
            states[str(r["state"])] = states.get(str(r["state"]), 0) + 1
        return {"task_instances": len(rows), "states": states, "sum_task_duration_s": round(sum(r["duration"] or 0 for r in rows), 2)}

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


_ORPHANS: set[tuple[int, float]] = set()  # (pid, create time) of processes our scheduler started


def kill_orphans() -> None:
    """SIGKILL the scheduler's descendants seen by the sampler that still run (same pid and start time)."""
    try:
        import psutil
    except ImportError:
        return
    for pid, created in list(_ORPHANS):
        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - created) < 0.01:
                proc.kill()
        except psutil.Error:
            pass
        _ORPHANS.discard((pid, created))


def _stop_group(proc: subprocess.Popen, grace: float = 15) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of this group (LocalExecutor workers)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def query(db: Path, sql: str, args: Iterable = ()) -> list[dict]:
    for attempt in range(20):
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
                conn.row_factory = sqlite3.Row
                return [dict(r) for r in conn.execute(sql, list(args)).fetchall()]
        except sqlite3.OperationalError:
            if attempt == 19:
                raise
            time.sleep(0.5)
    return []


def parse_ts(value: str | None):
    import datetime as dt

    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def run_seconds(rows: list[dict]) -> float:
    """Wall time from the first run's start (queued when never started) to the last run's end."""
    starts = [parse_ts(r["start_date"] or r["queued_at"]) for r in rows]
    ends = [parse_ts(r["end_date"]) for r in rows]
    return round((max(ends) - min(starts)).total_seconds(), 2)


# -- memory -----------------------------------------------------------------------------------------------
class RssSampler(threading.Thread):
    """Peak RSS of the scheduler process, of its whole tree, and of the largest single task process."""

    def __init__(self, stack: Stack, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.stack, self.interval = stack, interval
        self.peak = {"scheduler_mb": 0.0, "scheduler_tree_mb": 0.0, "task_process_mb": 0.0, "dag_processor_mb": 0.0, "api_server_mb": 0.0}
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:  # /proc fallback: the scheduler process only
            psutil = None
        while not self._halt.is_set():
            for name, key in (("scheduler", "scheduler_mb"), ("dag-processor", "dag_processor_mb"), ("api-server", "api_server_mb")):
                proc = self.stack.procs.get(name)
                if proc is None or proc.poll() is not None:
                    continue
                try:
                    if psutil is None:
                        self._bump(key, _proc_rss_mb(proc.pid))
                        continue
                    root = psutil.Process(proc.pid)
                    # `airflow scheduler` is a console script: the python process is the root itself
                    self._bump(key, root.memory_info().rss / 2**20)
                    if name == "scheduler":
                        kids = root.children(recursive=True)
                        tree = root.memory_info().rss
                        for kid in kids:
                            try:
                                rss = kid.memory_info().rss
                            except psutil.Error:
                                continue
                            tree += rss
                            if _is_task(kid):
                                self._bump("task_process_mb", rss / 2**20)
                            with contextlib.suppress(psutil.Error):
                                _ORPHANS.add((kid.pid, kid.create_time()))
                        self._bump("scheduler_tree_mb", tree / 2**20)
                except Exception:  # noqa: S112 (a process that ended between two reads)
                    continue
            self.samples += 1
            self._halt.wait(self.interval)

    def _bump(self, key: str, value: float) -> None:
        self.peak[key] = max(self.peak[key], round(value, 1))

    def stop(self) -> dict:
        self._halt.set()
        self.join(timeout=5)
        return {**self.peak, "samples": self.samples}


def _is_task(proc) -> bool:
    try:
        text = " ".join(proc.cmdline())
    except Exception:
        return False
    return "task" in text.lower() or "supervisor" in text.lower() or "worker" in text.lower() or "airflow" in text.lower()


def _proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


def cleanup(path: Path) -> None:
    if os.environ.get("BHXH_BENCH_KEEP"):
        return
    shutil.rmtree(path, ignore_errors=True)

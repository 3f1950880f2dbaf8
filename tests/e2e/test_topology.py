"""The production topology of docker-compose.yaml, run natively: PostgreSQL (metadata DB, Celery result backend,
submissions store) and Redis (Celery broker) on loopback; api-server, scheduler, dag-processor and TWO Celery
workers started from the virtualenv with the environment of `bhxh.topology` (the one the compose file uses);
the Resolution 51 cycle of 2019 run through them on the demo's sample data; real e-mails and a chat message
received on loopback.

Fresh databases and a Redis DB of its own are created for the test and removed at the end, also on failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from bhxh import topology
from bhxh.devservers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
OBLIGATION, CYCLE = "nq51_action_programme", "2019"
PG_HOST = os.environ.get("BHXH_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("BHXH_PG_PORT", "5432")
PG_USER = os.environ.get("BHXH_PG_USER", "postgres")
REDIS_HOST = os.environ.get("BHXH_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("BHXH_REDIS_PORT", "6379"))
# The run fails when no task instance has finished for STALL_TIMEOUT s, or after RUN_TIMEOUT s in all. On a quiet
# 2-core machine the cycle takes ~3-4 min; on a machine shared with other test suites a task costs several times
# more, so the limit is on progress, not only on the total.
STALL_TIMEOUT = float(os.environ.get("BHXH_TOPOLOGY_STALL_TIMEOUT", "150"))
RUN_TIMEOUT = float(os.environ.get("BHXH_TOPOLOGY_TIMEOUT", "900"))
WORKERS = ("bhxh_w1", "bhxh_w2")


def _require_services() -> None:
    """PostgreSQL and Redis must answer: fail (never skip) naming what is missing."""
    import psycopg
    import redis

    missing = []
    try:
        psycopg.connect(f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres", connect_timeout=5).close()
    except Exception as exc:
        missing.append(f"PostgreSQL at {PG_HOST}:{PG_PORT} as {PG_USER} ({exc}); run `make services` or apt-get install postgresql")
    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=5).ping()
    except Exception as exc:
        missing.append(f"Redis at {REDIS_HOST}:{REDIS_PORT} ({exc}); apt-get install redis-server")
    if missing:
        pytest.fail("THIẾU / MISSING: " + "; ".join(missing), pytrace=False)


def _claim_redis_db(tag: str) -> int:
    """A Redis database number nobody uses (empty), claimed with a marker key."""
    import redis

    for n in secrets.SystemRandom().sample(range(1, 16), 15):
        r = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=n)
        if r.dbsize() == 0 and r.set("bhxh_topology_test", tag, nx=True):
            return n
    pytest.fail(f"no empty Redis database (1-15) at {REDIS_HOST}:{REDIS_PORT}", pytrace=False)


class Cluster:
    """The Airflow processes, each in its own process group, with their output kept in files."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.procs = env, logs, {}
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: list[str], **extra_env: str) -> None:
        out = (self.logs / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            ["airflow", *args], env=self.env | extra_env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise AssertionError(f"Airflow processes exited: {dead}\n" + self.tail(*dead))

    def tail(self, *names: str, chars: int = 3000) -> str:
        out = []
        for n in names or self.procs:
            path = self.logs / f"{n}.log"
            if path.exists():
                out.append(f"--- {n} ---\n" + path.read_text(errors="replace")[-chars:])
        return "\n".join(out)

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for p in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
        for p in self.procs.values():  # the group too: task runners and gunicorn/uvicorn children
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)


def _wait(what: str, check, timeout: float, cluster: Cluster, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.check_alive()
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n" + cluster.tail())


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # noqa: S310 (loopback URL built here)
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def topology_run(tmp_path_factory):
    """Start the whole topology, run one cycle, collect what the checks need, tear everything down."""
    import psycopg
    import redis
    from cryptography.fernet import Fernet
    from sqlalchemy import func, select

    from bhxh.calendar.expected import plan_cycle
    from bhxh.cli.sample import generate, read_manifest
    from bhxh.devservers import LoopbackSinks
    from bhxh.intake.submission import ingest
    from bhxh.reports.consolidation import completeness
    from bhxh.store.engine import session_factory
    from bhxh.store.models import OutboxMessage

    _require_services()
    started = time.monotonic()
    tmp = tmp_path_factory.mktemp("topology")
    tag = uuid.uuid4().hex[:8]
    home = tmp / "airflow_home"
    sinks = LoopbackSinks(tmp / "sink")
    smtp_port, http_port = sinks.smtp_port, sinks.http_port
    redis_db = _claim_redis_db(tag)
    t = topology.native_topology(
        str(ROOT), str(home),
        pg_host=PG_HOST, pg_port=PG_PORT, pg_user=PG_USER,
        metadata_db=f"bhxh_topo_{tag}_airflow", store_db=f"bhxh_topo_{tag}_store",
        redis_host=REDIS_HOST, redis_port=str(REDIS_PORT), redis_db=str(redis_db),
        api_port=str(free_port()), smtp_port=str(smtp_port), chat_url=f"json://127.0.0.1:{http_port}/chat",
        fernet_key=Fernet.generate_key().decode(), jwt_secret=secrets.token_urlsafe(32),
        extra={
            # test-only: no scheduled run next to the manual one, and no fixed ports that others may use
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGERER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        },
    )
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "BHXH_"))}
    base_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base_env.get('PATH', '')}"
    env = base_env | topology.airflow_env(t)
    admin = topology.admin_dsn(t)
    cluster = Cluster(env, tmp / "logs")
    result: dict = {"tmp": tmp, "redis_db": redis_db}
    try:
        for db in (t.metadata_db, t.store_db):
            assert topology.ensure_database(admin, db), db
        topology.write_admin_password(t, "admin")
        t0 = time.monotonic()
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
        result["migrate_seconds"] = round(time.monotonic() - t0, 1)
        # the store: schema (as airflow-init does) and the demo's sample submissions with their receipt times
        store = topology.init_store(t)
        inbox = tmp / "inbox"
        generate(inbox, OBLIGATION, CYCLE)
        maker = session_factory(store)
        with maker() as session, session.begin():
            for item in read_manifest(inbox):
                path = Path(item.path)
                ingest(session, path.read_bytes(), path.name, dt.datetime.fromisoformat(item.received_at))
        # the components, as in docker-compose.yaml (scheduler, dag-processor, api-server, two workers)
        cluster.start("api-server", ["api-server", "--host", "127.0.0.1", "--port", t.api_port, "--workers", "1"])
        cluster.start("scheduler", ["scheduler"])
        cluster.start("dag-processor", ["dag-processor"])
        for name in WORKERS:
            cluster.start(
                name, ["celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", "2"],
                AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            )
        _wait("the api-server", lambda: _http_ok(f"http://127.0.0.1:{t.api_port}/api/v2/monitor/health"), 120, cluster)
        meta = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={t.metadata_db}"

        def sql(query: str, *params):
            with psycopg.connect(meta, autocommit=True) as conn:
                return conn.execute(query, params).fetchall()

        _wait("the DAG to be parsed by the dag-processor",
              lambda: sql("SELECT 1 FROM dag WHERE dag_id = %s", topology.DAG_ID), 180, cluster)
        subprocess.run(["airflow", "dags", "unpause", topology.DAG_ID], env=env, check=True, capture_output=True, timeout=120)
        run_id = f"topology_{tag}"
        subprocess.run(
            ["airflow", "dags", "trigger", topology.DAG_ID, "--run-id", run_id, "-c", json.dumps({"cycle": CYCLE})],
            env=env, check=True, capture_output=True, timeout=120,
        )
        t0 = time.monotonic()

        progress = {"done": -1, "at": time.monotonic()}

        def finished():
            rows = sql("SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", topology.DAG_ID, run_id)
            if rows and rows[0][0] in ("success", "failed"):
                return rows[0][0]
            done = sql("SELECT count(*) FROM task_instance WHERE dag_id = %s AND run_id = %s AND state IN "
                       "('success', 'failed', 'skipped', 'upstream_failed')", topology.DAG_ID, run_id)[0][0]
            if done != progress["done"]:
                progress.update(done=done, at=time.monotonic())
            elif time.monotonic() - progress["at"] > STALL_TIMEOUT:
                raise AssertionError(f"no task of {run_id} finished for {STALL_TIMEOUT:.0f} s ({done} done)\n" + cluster.tail())
            return None

        result["state"] = _wait(f"the run {run_id}", finished, RUN_TIMEOUT, cluster, interval=2)
        result["run_seconds"] = round(time.monotonic() - t0, 1)
        result["tis"] = sql(
            "SELECT task_id, map_index, state, external_executor_id, queue FROM task_instance "
            "WHERE dag_id = %s AND run_id = %s ORDER BY task_id, map_index", topology.DAG_ID, run_id,
        )
        result["celery"] = dict(sql("SELECT task_id, worker FROM celery_taskmeta"))
        result["dag_runs"] = sql("SELECT run_id, run_type FROM dag_run WHERE dag_id = %s", topology.DAG_ID)
        time.sleep(0.5)
        plan = plan_cycle(OBLIGATION, CYCLE)
        with maker() as session:
            result["completeness"] = completeness(session, plan)
            result["sent"] = dict(session.execute(
                select(OutboxMessage.channel, func.count()).where(OutboxMessage.status == "sent").group_by(OutboxMessage.channel)
            ).all())
        time.sleep(1.0)  # the sink writes each .eml, then its .rcpt
        result["mails"] = sinks.mail.messages()
        result["rcpts"] = {
            m.with_suffix(".eml.rcpt").read_text(encoding="utf-8").split("\n")[0]
            for m in result["mails"] if m.with_suffix(".eml.rcpt").exists()
        }
        result["chats"] = sinks.chat.messages()
        result["manifest"] = json.loads((inbox / "manifest.json").read_text(encoding="utf-8"))
        result["logs"] = cluster.tail(chars=1500)
    finally:
        cluster.stop()
        sinks.stop()
        from bhxh.store.engine import get_engine

        get_engine(topology.store_url(t)).dispose()
        with contextlib.suppress(redis.RedisError):
            redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=redis_db).flushdb()
        for db in (t.metadata_db, t.store_db):
            topology.drop_database(admin, db)
        result["total_seconds"] = round(time.monotonic() - started, 1)
        print(f"\ntopology test: migrate {result.get('migrate_seconds')} s, run {result.get('run_seconds')} s, "
              f"total {result['total_seconds']} s", flush=True)
        if os.environ.get("BHXH_KEEP_TOPOLOGY_LOGS"):
            shutil.copytree(tmp / "logs", ROOT / "out" / "topology_logs", dirs_exist_ok=True)
    return result


def test_run_succeeds_through_celery(topology_run):
    r = topology_run
    assert r["state"] == "success", r["logs"]
    assert [row for row in r["dag_runs"] if row[1] != "manual"] == []  # only the triggered run
    states = {(task, idx): state for task, idx, state, *_ in r["tis"]}
    for task in ("prepare", "unit_list", "consolidate", "completeness", "notify"):
        assert states[(task, -1)] == "success", (task, states)


def test_every_unit_validated_on_a_celery_worker(topology_run):
    r = topology_run
    validate = [row for row in r["tis"] if row[0] == "validate"]
    from bhxh.calendar.expected import plan_cycle

    assert len(validate) == len(plan_cycle("nq51_action_programme", "2019").units) == 82
    assert {row[2] for row in validate} <= {"success", "failed", "skipped"}
    workers = {}
    for _task, idx, _state, celery_id, queue in validate:
        assert celery_id, f"validate[{idx}] has no Celery task id"
        worker = r["celery"].get(celery_id)
        assert worker and worker.split("@")[0] in WORKERS, (idx, celery_id, worker)
        assert queue == "default"
        workers[idx] = worker.split("@")[0]
    print("validate tasks per worker:", {w: list(workers.values()).count(w) for w in WORKERS})


def test_consolidated_counts_match_the_demo(topology_run):
    state = topology_run["completeness"]
    counts = state["counts"]
    assert state["expected"] == 82  # 63 provinces + 20 central units of 14/11/2019, less the recipient
    assert counts["on_time"] + counts["late"] + counts["invalid"] + counts["missing"] == 82
    assert state["not_checked"] in ([], 0, None) or not state["not_checked"]
    scen: dict[str, list[dict]] = {}
    for item in topology_run["manifest"]:
        scen.setdefault(item["unit_id"], []).append(item)
    invalid = {u for u, items in scen.items() if items[-1]["scenario"].startswith("invalid:")}
    assert set(state["invalid"]) == invalid and len(invalid) == 7  # six broken indicator sheets, one task left out
    assert counts["late"] == sum(1 for items in scen.values() if items[-1]["scenario"] == "late")
    from bhxh.calendar.expected import plan_cycle

    expected_ids = {u.id for u in plan_cycle(OBLIGATION, CYCLE).units}
    assert set(state["missing"]) == expected_ids - set(scen)


def test_emails_and_chat_arrived(topology_run):
    r = topology_run
    assert len(r["mails"]) == r["sent"].get("email", 0) > 0
    assert len(r["chats"]) == r["sent"].get("chat", 0) == 1
    rcpts = r["rcpts"]
    from bhxh.calendar.expected import plan_cycle

    assert {u.email for u in plan_cycle(OBLIGATION, CYCLE).units if u.email} <= rcpts
    assert "khth.khdt@vss.gov.vn" in rcpts  # the consolidated report upward

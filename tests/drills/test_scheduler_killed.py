"""The scheduler is killed with SIGKILL in the middle of a cycle (units being validated) and restarted: the cycle
completes, no submission is lost or counted twice, no message is sent twice.

Real Airflow: scheduler, dag-processor and api-server (LocalExecutor) as subprocesses of a throw-away
AIRFLOW_HOME, the 2019 sample cycle of bao_cao_nq51_action_programme, loopback SMTP and webhook.
"""

from __future__ import annotations

import signal
import time

import pytest

from .conftest import ingest_sample, outbox_sent, received_mail

pytestmark = pytest.mark.e2e
DAG_ID = "bao_cao_nq51_action_programme"


def test_scheduler_sigkill_mid_cycle(tmp_path, sample_inbox, mail_sink, chat_sink):
    from sqlalchemy import func, select

    from bhxh.calendar.expected import plan_cycle
    from bhxh.reports.consolidation import completeness
    from bhxh.store.engine import session_factory
    from bhxh.store.models import OutboxMessage, Submission, ValidationResult
    from bhxh_bench.common import DAGS, Stack, airflow_env, connection_env, migrate, query

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    files = ingest_sample(url, sample_inbox)
    home = tmp_path / "home"
    home.mkdir()
    env = airflow_env(home, DAGS, **connection_env(url, mail_sink.port, chat_sink.port), BHXH_OUT_DIR=str(tmp_path / "reports"))
    env |= {  # a dead scheduler's queued work is adopted quickly by the next one
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
    }
    migrate(env)
    with Stack(home, env) as stack:
        stack.start()
        stack.wait_dags([DAG_ID])
        stack.airflow_cli("dags", "unpause", DAG_ID)
        stack.trigger(DAG_ID, "drill", {"cycle": "2019"})
        deadline = time.monotonic() + 600
        while True:  # until some units are validated and others are still to do
            done = query(stack.db, "SELECT count(*) AS n FROM task_instance WHERE run_id='drill' AND task_id='validate' AND state IN ('success','failed','skipped')")[0]["n"]
            if done >= 10:
                break
            assert time.monotonic() < deadline, "the cycle never started validating"
            time.sleep(0.5)
        stack.kill_one("scheduler", signal.SIGKILL)
        killed_at = done
        time.sleep(3)
        stack.start_one("scheduler")
        rows = stack.wait_runs(DAG_ID, ["drill"], timeout=900)
    assert rows[0]["state"] == "success"
    assert killed_at < 83

    plan = plan_cycle("nq51_action_programme", "2019")
    maker = session_factory(url)
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == files  # nothing lost, nothing twice
        results = session.execute(select(ValidationResult.unit_id, func.count()).group_by(ValidationResult.unit_id)).all()
        assert len(results) == len(plan.units) and all(n == 1 for _, n in results)
        state = completeness(session, plan)
        assert state["not_checked"] == [] and state["expected"] == len(plan.units)
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")) == 0
    time.sleep(1)
    expected = outbox_sent(url)
    got = received_mail(mail_sink.folder)
    assert got == expected and max(got.values()) == 1  # each e-mail exactly once
    assert len(chat_sink.messages()) == 1

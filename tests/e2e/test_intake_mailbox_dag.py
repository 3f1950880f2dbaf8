"""The intake DAG (`tiep_nhan_bao_cao`) through Airflow (`airflow dags test`), reading the department's mailbox
from its `bhxh_mailbox` connection (a real Dovecot on loopback, STARTTLS with the test server's certificate):
a unit's message becomes a submission at the mailbox's INTERNALDATE, its receipt reaches the loopback SMTP
server, and the message is in "processed". (A second pull storing and answering nothing again is checked
without Airflow in tests/ways_in/test_mailbox.py.)"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_the_intake_dag_pulls_the_mailbox(tmp_path, airflow_db, mail_sink):
    from email.message import EmailMessage

    from sqlalchemy import func, select

    from bhxh.calendar.units import default_registry
    from bhxh.cli.sample import generate
    from bhxh.devmailbox import Dovecot
    from bhxh.store.engine import session_factory
    from bhxh.store.models import OutboxMessage, Submission

    sample = next(s for s in generate(tmp_path / "samples", "nq51_action_programme", "2019") if s.scenario == "on_time" and s.path.endswith(".xlsx"))
    sender = default_registry().get(sample.unit_id).email
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, "khth.khdt@vss.gov.vn", "Báo cáo NQ51", "<dag-1@donvi.test>"
    msg.set_content("Kính gửi Vụ KHĐT")
    msg.add_attachment(Path(sample.path).read_bytes(), maintype="application", subtype="octet-stream", filename=Path(sample.path).name)
    received = dt.datetime(2019, 11, 7, 8, 45, tzinfo=dt.UTC)
    store = f"sqlite:///{tmp_path / 'store.sqlite'}"
    with Dovecot() as server:
        server.deliver(msg.as_bytes(), received)
        mailbox = {"conn_type": "imap", "host": "127.0.0.1", "port": server.imap_port, "login": server.user,
                   "password": server.password, "schema": "INBOX",
                   "extra": {"use_ssl": False, "starttls": True, "cafile": str(server.cafile)}}
        env = {
            **os.environ,
            "AIRFLOW_CONN_BHXH_MAILBOX": json.dumps(mailbox),
            "AIRFLOW_CONN_BHXH_STORE": json.dumps({"conn_type": "generic", "extra": {"url": store}}),
            "AIRFLOW_CONN_BHXH_APPRISE": json.dumps({"conn_type": "apprise", "extra": {"config": [
                {"path": f"mailto://127.0.0.1:{mail_sink.port}?from=baocao@vss.example", "tag": "email"}]}}),
            "BHXH_INBOX": str(tmp_path / "inbox"), "BHXH_ARCHIVE": str(tmp_path / "archive"),
        }
        proc = subprocess.run(["airflow", "dags", "test", "tiep_nhan_bao_cao", "2026-01-01T00:00:00+00:00"],
                              env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert (server.count("INBOX"), server.count("processed")) == (0, 1)
    maker = session_factory(store)
    with maker() as session:
        sub = session.scalar(select(Submission))
        assert sub.unit_id == sample.unit_id and sub.received_at == received and sub.status == "accepted"
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
        sent = list(session.scalars(select(OutboxMessage)))
        assert [(m.kind.split("_")[0], m.recipient, m.status) for m in sent] == [("receipt", sender, "sent")]
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in mail_sink.messages()]
    assert len(mails) == 1 and "Giấy biên nhận" in mails[0]["Subject"]

"""The intake DAG's step (bhxh.steps.intake.ingest_inbox) over a real inbox: answers queued with their files,
what cannot be taken set aside, and a file that came while the store was down keeps the time it came."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bhxh.steps.intake import ingest_inbox
from bhxh.store.engine import session_factory
from bhxh.store.models import OutboxMessage, Submission
from bhxh_bench.hostile_files import good_report


def test_the_step_answers_sets_aside_and_keeps_arrival_times_through_an_outage(tmp_path, monkeypatch):
    monkeypatch.setenv("BHXH_INBOX_QUIET_SECONDS", "0")
    inbox, archive, quarantine = tmp_path / "inbox", tmp_path / "archive", tmp_path / "quarantine"
    inbox.mkdir()
    good = good_report(inbox)
    (inbox / "bad\nname.xlsx").write_bytes(b"x")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    came = dt.datetime.now(dt.UTC)
    with pytest.raises(SQLAlchemyError):  # the task fails (and retries): the store is down
        ingest_inbox(inbox, archive, quarantine, f"sqlite:///{blocker}/store.sqlite")  # the store's volume is gone
    assert good.exists()
    assert len(list(quarantine.glob("*.reason.txt"))) == 1  # set aside at first sight, store or no store
    time.sleep(1.5)
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    summary, line = ingest_inbox(inbox, archive, quarantine, url)  # the store is back
    assert summary["ingested"] == 1 and summary["queued"] == 1 and summary["quarantined"] == []
    assert "tiếp nhận 1 tệp" in line and not good.exists()
    with session_factory(url)() as session:
        received = session.scalar(select(Submission.received_at))
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert abs((received - came).total_seconds()) < 1.0  # when it came, not when the store was back
    summary, _line = ingest_inbox(inbox, archive, quarantine, url)  # nothing left: nothing done, nothing sent twice
    assert summary["ingested"] == 0 and summary["queued"] == 0

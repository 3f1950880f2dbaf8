"""Fault drills: the failures an operator meets (SMTP down, scheduler killed, store unavailable, a file
replaced while read), staged for real on loopback. Marked e2e; each takes under about two minutes on 2 cores."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections import Counter
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sample_inbox(tmp_path_factory) -> Path:
    """The demo's sample submissions of the 2019 cycle of the Resolution 51 report (generated once)."""
    from bhxh.cli.sample import generate

    inbox = tmp_path_factory.mktemp("sample") / "inbox"
    generate(inbox, "nq51_action_programme", "2019")
    return inbox


def ingest_sample(url: str, inbox: Path) -> int:
    from bhxh.cli.sample import read_manifest
    from bhxh.intake.submission import ingest
    from bhxh.store.engine import init_store, session_factory

    init_store(url)
    items = read_manifest(inbox)
    with session_factory(url)() as session, session.begin():
        for item in items:
            path = Path(item.path)
            ingest(session, path.read_bytes(), path.name, dt.datetime.fromisoformat(item.received_at))
    return len(items)


def received_mail(folder: Path) -> Counter:
    """(recipient, subject) of every e-mail the sink received, counted."""
    seen: Counter = Counter()
    for path in folder.glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        rcpt = Path(str(path) + ".rcpt").read_text(encoding="utf-8").strip()
        seen[(rcpt, " ".join(str(msg["subject"]).split()))] += 1
    return seen


def outbox_sent(url: str, channel: str = "email") -> Counter:
    from sqlalchemy import select

    from bhxh.store.engine import session_factory
    from bhxh.store.models import OutboxMessage

    with session_factory(url)() as session:
        rows = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.status).where(OutboxMessage.channel == channel)
        ).all()
    assert all(r.status == "sent" for r in rows), Counter(r.status for r in rows)
    return Counter((r.recipient, " ".join(r.subject.split())) for r in rows)

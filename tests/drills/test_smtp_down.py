"""SMTP is down for the first delivery attempts of a cycle, then comes back on the same port: every message
is delivered exactly once (the outbox keeps what failed as pending; a message sent is never sent again)."""

from __future__ import annotations

import time

import pytest

from bhxh.devservers import free_port

from .conftest import ingest_sample, outbox_sent, received_mail

pytestmark = pytest.mark.e2e


def test_smtp_down_then_back_delivers_each_message_once(tmp_path, sample_inbox, chat_sink):
    from bhxh.calendar.expected import plan_cycle
    from bhxh.devservers import MailSink
    from bhxh.notify.channels import apprise_sender
    from bhxh.notify.outbox import DeliveryError, deliver_pending, enqueue
    from bhxh.reports.consolidation import consolidate
    from bhxh.reports.documents import render_reports
    from bhxh.steps.cycle import validate_unit
    from bhxh.steps.messages import cycle_messages
    from bhxh.store.engine import session_factory

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    ingest_sample(url, sample_inbox)
    plan = plan_cycle("nq51_action_programme", "2019")
    maker = session_factory(url)
    with maker() as session, session.begin():
        for unit in plan.units:
            validate_unit(session, plan, unit.id)
    with maker() as session, session.begin():
        cons = consolidate(session, plan)
        paths = render_reports(cons, tmp_path / "reports")
        queued = enqueue(session, cycle_messages(cons, paths))
    assert queued > 80

    port = free_port()  # nothing listens here yet: SMTP is down
    send = apprise_sender({"email": [f"mailto://127.0.0.1:{port}?from=baocao@vss.example"], "chat": [f"json://127.0.0.1:{chat_sink.port}/chat"]})
    for _attempt in range(2):  # the notify task's first attempt and its first retry
        with pytest.raises(DeliveryError):
            deliver_pending(maker, send, obligation_id="nq51_action_programme", cycle_key="2019")

    sink = MailSink(tmp_path / "mail", port)  # SMTP back, same port
    sink.start()
    try:
        result = deliver_pending(maker, send, obligation_id="nq51_action_programme", cycle_key="2019")
        again = deliver_pending(maker, send, obligation_id="nq51_action_programme", cycle_key="2019")
        with maker() as session, session.begin():
            assert enqueue(session, cycle_messages(cons, paths)) == 0  # a re-run of the task queues nothing new
        time.sleep(1.0)
    finally:
        sink.stop()
    assert again["sent"] == 0
    expected = outbox_sent(url)
    got = received_mail(tmp_path / "mail")
    assert got == expected  # every e-mail of the outbox received, each exactly once
    assert max(got.values()) == 1
    assert result["sent"] == sum(expected.values())  # the chat summary went out on the first attempt
    assert len(chat_sink.messages()) == 1  # the chat summary, sent once although e-mail failed twice

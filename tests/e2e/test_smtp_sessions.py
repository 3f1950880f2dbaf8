"""E-mails of one delivery run share SMTP sessions (apprise opens one per message otherwise): every message still
arrives exactly once, a session the server dropped is replaced, none is left open after the run."""

from __future__ import annotations

import email
import email.policy

import pytest

from bhxh.devservers import MailSink
from bhxh.notify.channels import SmtpSessions, apprise_sender
from bhxh.notify.outbox import deliver_pending, enqueue
from bhxh.store.engine import init_store, session_factory
from bhxh.store.models import OutboxMessage

pytestmark = pytest.mark.e2e


def _urls(port: int) -> dict[str, list[str]]:
    return {"email": [f"mailto://127.0.0.1:{port}?from=baocao@vss.example&name=He thong bao cao BHXH"]}


def _outbox(tmp_path, count: int):
    from bhxh.notify.outbox import Message

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    with maker() as session, session.begin():
        enqueue(session, [
            Message("ob", "2019", f"u{i:03d}", "acknowledgement", "email", f"u{i:03d}@vss.example",
                    f"Xác nhận đã nhận báo cáo {i:03d}", f"Kính gửi đơn vị {i:03d}: đã nhận báo cáo.")
            for i in range(count)
        ])
    return maker


def _received(sink: MailSink) -> list[tuple[str, str]]:
    out = []
    for path in sink.messages():
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        out.append((path.with_suffix(".eml.rcpt").read_text(), str(mail["Subject"])))
    return sorted(out)


def test_a_run_sends_each_message_once_over_few_sessions(tmp_path, mail_sink):
    maker = _outbox(tmp_path, 40)
    send = apprise_sender(_urls(mail_sink.port))
    assert send.sessions is not None  # apprise 2.2's layout: session reuse is on
    assert deliver_pending(maker, send, workers=4) == {"sent": 40, "failed": 0}
    assert _received(mail_sink) == [(f"u{i:03d}@vss.example", f"Xác nhận đã nhận báo cáo {i:03d}") for i in range(40)]
    assert 1 <= len(mail_sink.sessions) <= 4  # one per sender thread at most, not one per message
    assert send.sessions.opened == len(mail_sink.sessions)
    assert send.sessions._idle == {}  # the run closed them
    with maker() as session:
        assert {m.status for m in session.query(OutboxMessage)} == {"sent"}


def test_outside_a_run_each_message_has_its_own_session(tmp_path, mail_sink):
    maker = _outbox(tmp_path, 3)
    send = apprise_sender(_urls(mail_sink.port))
    with maker() as session:
        for message in session.query(OutboxMessage):
            send(message)  # no deliver_pending holding the sessions: apprise's own behaviour
    assert len(mail_sink.messages()) == 3
    assert len(mail_sink.sessions) == 3


def test_a_session_carries_at_most_max_messages(tmp_path, mail_sink, monkeypatch):
    monkeypatch.setattr(SmtpSessions, "MAX_MESSAGES", 5)
    maker = _outbox(tmp_path, 12)
    send = apprise_sender(_urls(mail_sink.port))
    assert deliver_pending(maker, send, workers=1) == {"sent": 12, "failed": 0}
    assert len(mail_sink.messages()) == 12
    assert len(mail_sink.sessions) == 3  # 5 + 5 + 2


def test_a_session_the_server_dropped_is_replaced(tmp_path):
    from bhxh.devservers import free_port

    maker = _outbox(tmp_path, 2)
    port = free_port()
    first = MailSink(tmp_path / "first", port)
    first.start()
    send = apprise_sender(_urls(port))
    with maker() as session:
        one, two = session.query(OutboxMessage).order_by(OutboxMessage.id).all()
    with send.holding():
        send(one)
        first.stop()  # the server goes away with our idle session, and comes back
        second = MailSink(tmp_path / "second", port)
        second.start()
        try:
            send(two)
        finally:
            second.stop()
    assert [p.with_suffix(".eml.rcpt").read_text() for p in first.messages()] == [one.recipient]
    assert [p.with_suffix(".eml.rcpt").read_text() for p in second.messages()] == [two.recipient]

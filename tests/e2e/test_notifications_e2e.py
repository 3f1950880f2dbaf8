"""Reminders delivered for real on loopback (aiosmtpd and a webhook receiver) through the outbox and apprise:
an SMTP outage, a webhook answering 500, and a re-run deliver every message exactly once, in Vietnamese."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.units import default_registry
from bhxh.devservers import MailSink, WebhookSink, free_port
from bhxh.notify.channels import apprise_sender
from bhxh.notify.outbox import DeliveryError, deliver_pending, enqueue
from bhxh.notify.reminders import messages_due
from bhxh.store.engine import init_store, session_factory
from bhxh.store.models import OutboxMessage

pytestmark = pytest.mark.e2e

OB, DAY = "nq28_dak_lak_units", dt.date(2020, 11, 25)  # reminder_3 of the 2020 cycle
UNITS = ("daklak_so_khdt", "daklak_so_noi_vu", "daklak_so_tai_chinh")


def _urls(smtp_port: int, http_port: int) -> dict[str, list[str]]:
    return {
        "email": [f"mailto://127.0.0.1:{smtp_port}?from=baocao@vss.example&name=He thong bao cao BHXH"],
        "chat": [f"json://127.0.0.1:{http_port}/chat"],
    }


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    return session_factory(url)


def _messages(maker):
    catalogue = Catalogue([default_catalogue().get(OB)])
    with maker() as session:
        due = messages_due(DAY, catalogue=catalogue, registry=default_registry(), session=session, today=DAY)
    return [m for m in due if m.unit_id in UNITS]


def _enqueue(maker, messages) -> int:
    with maker() as session, session.begin():
        return enqueue(session, messages)


def _statuses(maker) -> dict[str, int]:
    with maker() as session:
        rows = session.query(OutboxMessage.status).all()
    out: dict[str, int] = {}
    for (status,) in rows:
        out[status] = out.get(status, 0) + 1
    return out


def _mails(sink) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sink.messages()]


def test_smtp_outage_then_delivered_once(store, tmp_path, chat_sink):
    messages = _messages(store)
    emails = [m for m in messages if m.channel == "email"]
    assert len(emails) == 3
    assert _enqueue(store, messages) == 6
    port = free_port()
    sink = MailSink(tmp_path / "outage", port)  # not started: the SMTP server is down
    send = apprise_sender(_urls(port, chat_sink.port))
    with pytest.raises(DeliveryError):
        deliver_pending(store, send, channel="email")
    assert _statuses(store) == {"failed": 3, "pending": 3}  # nothing lost, chat untouched
    sink.start()  # the server is back, on the same port
    try:
        assert deliver_pending(store, send, channel="email") == {"sent": 3, "failed": 0}
        assert deliver_pending(store, send, channel="email") == {"sent": 0, "failed": 0}
        mails = _mails(sink)
        rcpts = sorted(p.with_suffix(".eml.rcpt").read_text() for p in sink.messages())
    finally:
        sink.stop()
    assert rcpts == sorted(m.recipient for m in emails)
    by_to = {str(m["To"]).strip("<>"): m for m in mails}
    for m in emails:
        got = by_to.get(m.recipient) or next(x for x in mails if m.recipient in str(x["To"]))
        assert got["Subject"] == m.subject  # Vietnamese subject decoded intact
        body = got.get_body(preferencelist=("plain",)).get_content()
        assert "Kính gửi: Sở" in body and "Còn 3 ngày làm việc" in body
        assert "hạn thực tế: hết ngày 30/11/2020" in body and "Đắk Lắk" in body
    # the chat channel was never blocked by the mail outage
    assert deliver_pending(store, send, channel="chat") == {"sent": 3, "failed": 0}
    assert len(chat_sink.messages()) == 3


def test_webhook_500_is_retried_and_delivered_once(store, tmp_path, mail_sink):
    messages = _messages(store)
    _enqueue(store, messages)
    hook = WebhookSink(tmp_path / "hook", free_port(), fail_first=1)
    port = hook.start()
    try:
        send = apprise_sender(_urls(mail_sink.port, port))
        with pytest.raises(DeliveryError):
            deliver_pending(store, send, channel="chat")
        assert len(hook.messages()) == 2  # the first answered 500
        assert deliver_pending(store, send, channel="chat") == {"sent": 1, "failed": 0}
        received = hook.messages()
    finally:
        hook.stop()
    assert len(received) == 3
    bodies = [r.get("message", "") for r in received]
    for m in (m for m in messages if m.channel == "chat"):
        assert sum(m.recipient in b for b in bodies) == 1
    assert all("ngày làm việc" in b for b in bodies)  # Vietnamese intact in the JSON


def test_rerun_sends_nothing_twice(store, mail_sink, chat_sink):
    messages = _messages(store)
    send = apprise_sender(_urls(mail_sink.port, chat_sink.port))
    assert _enqueue(store, messages) == 6
    for channel in ("email", "chat"):
        assert deliver_pending(store, send, channel=channel)["sent"] == 3
    # a re-run of the day (retry, clear, second DAG run): the same messages again
    assert _enqueue(store, _messages(store)) == 0
    for channel in ("email", "chat"):
        assert deliver_pending(store, send, channel=channel) == {"sent": 0, "failed": 0}
    assert len(mail_sink.messages()) == 3 and len(chat_sink.messages()) == 3
    assert _statuses(store) == {"sent": 6}

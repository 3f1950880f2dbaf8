"""The outbox: each message sent once by concurrent senders; one left 'sending' by a dead sender is released."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select, update

from bhxh.notify import STUCK_AFTER, Message, deliver_pending, enqueue
from bhxh.store import OutboxMessage, init_store, session_factory, utcnow


def _store(tmp_path, count: int):
    url = f"sqlite:///{tmp_path / 'outbox.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    with maker() as session, session.begin():
        enqueue(session, [Message("ob", "2019", f"u{i}", "call", "email", f"u{i}@vss.example", "Tiêu đề", "Nội dung") for i in range(count)])
    return maker


def test_threads_send_each_message_once(tmp_path):
    maker = _store(tmp_path, 40)
    seen: list[str] = []
    lock = threading.Lock()

    def send(message):
        with lock:
            seen.append(message.recipient)

    assert deliver_pending(maker, send, workers=4) == {"sent": 40, "failed": 0}
    assert sorted(seen) == sorted(f"u{i}@vss.example" for i in range(40))
    assert deliver_pending(maker, send, workers=4) == {"sent": 0, "failed": 0}


def test_message_of_a_dead_sender_is_released_but_not_one_in_flight(tmp_path):
    maker = _store(tmp_path, 2)
    with maker() as session, session.begin():
        ids = list(session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
        session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[0]).values(
            status="sending", claimed_at=utcnow() - STUCK_AFTER - dt.timedelta(minutes=1)))
        session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[1]).values(status="sending", claimed_at=utcnow()))
    sent: list[str] = []
    assert deliver_pending(maker, lambda m: sent.append(m.recipient)) == {"sent": 1, "failed": 0}
    assert sent == ["u0@vss.example"]
    with maker() as session:
        assert session.get(OutboxMessage, ids[1]).status == "sending"

"""The outbox: each message sent once by concurrent senders; one left 'sending' by a dead sender is released."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select, update

from bhxh.notify.outbox import STUCK_AFTER, Message, deliver_pending, enqueue
from bhxh.store.engine import init_store, session_factory, utcnow
from bhxh.store.models import OutboxMessage


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


def test_enqueue_racing_another_worker_keeps_one_row_per_key(tmp_path):
    """Another worker commits one of our keys between our existence check and our insert: the batch insert
    fails on the unique key, and the messages are added one by one (the other worker's row stays)."""
    maker = _store(tmp_path, 1)  # u0 is already there, as if another worker had just committed it
    messages = [Message("ob", "2019", f"u{i}", "call", "email", f"u{i}@vss.example", "Khác", "Khác") for i in range(3)]
    with maker() as session, session.begin():
        real = session.scalars
        calls = []

        def blind_first_check(statement, *args, **kwargs):  # our check ran before the other worker's commit
            calls.append(statement)
            return iter(()) if len(calls) == 1 else real(statement, *args, **kwargs)

        session.scalars = blind_first_check
        assert enqueue(session, messages) == 2
    with maker() as session:
        rows = {m.unit_id: m for m in session.scalars(select(OutboxMessage))}
    assert sorted(rows) == ["u0", "u1", "u2"]
    assert rows["u0"].subject == "Tiêu đề"  # the other worker's message, not replaced


def test_enqueue_same_message_twice_in_one_call_is_one_row(tmp_path):
    maker = _store(tmp_path, 0)
    m = Message("ob", "2019", "u9", "call", "email", "u9@vss.example", "Tiêu đề", "Nội dung")
    with maker() as session, session.begin():
        assert enqueue(session, [m, m]) == 1
        assert enqueue(session, [m]) == 0


def test_two_delivery_runs_at_once_send_each_message_once(tmp_path):
    """E.g. the cycle's notify task and the intake's answers delivering the same outbox at the same moment:
    their claims overlap chunk by chunk, and still no message goes twice."""
    maker = _store(tmp_path, 120)
    seen: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def send(message):
        with lock:
            seen.append(message.recipient)

    results = []

    def run():
        start.wait()
        results.append(deliver_pending(maker, send, workers=3))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(f"u{i}@vss.example" for i in range(120))
    assert sum(r["sent"] for r in results) == 120
    with maker() as session:
        assert {m.status for m in session.scalars(select(OutboxMessage))} == {"sent"}

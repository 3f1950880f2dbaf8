"""The outbox ("hộp thư đi"): messages kept in the store with a deduplication key, and their delivery, each
exactly once, by concurrent senders.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bhxh.errors import BhxhError
from bhxh.store.engine import utcnow
from bhxh.store.models import OutboxMessage

CHANNELS = ("email", "chat")


@dataclass(frozen=True)
class Message:
    obligation_id: str
    cycle_key: str
    unit_id: str | None
    kind: str  # call | reminder_7 | overdue_1 | acknowledgement | errors | consolidated | missing_summary ...
    channel: str
    recipient: str
    subject: str
    body: str
    body_format: str = "text"
    attachments: tuple[str, ...] = ()

    @property
    def dedup_key(self) -> str:
        return "|".join([self.obligation_id, self.cycle_key, self.unit_id or "-", self.kind, self.channel, self.recipient])


def to_unit(obligation_id: str, cycle_key: str, unit, kind: str, subject: str, bodies: dict[str, str]) -> list[Message]:
    """One message per channel of `bodies` ("email", "chat") on which the unit has an address."""
    return [
        Message(obligation_id, cycle_key, unit.id, kind, channel, getattr(unit, channel), subject, body)
        for channel, body in bodies.items()
        if getattr(unit, channel, None)
    ]


def enqueue(session: Session, messages: Iterable[Message]) -> int:
    """Add messages to the outbox; a message whose key is already there is left as it is. Returns how many were new."""
    messages = list(messages)
    for m in messages:
        if m.channel not in CHANNELS:
            raise ValueError(f"unknown channel {m.channel}")
    keys = [m.dedup_key for m in messages]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):  # one query per 500 keys instead of one per message
        chunk = keys[start : start + 500]
        existing.update(session.scalars(select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key.in_(chunk))))
    rows = []
    for m in messages:
        if m.dedup_key in existing:
            continue
        existing.add(m.dedup_key)  # the same message twice in one call is one message
        rows.append(OutboxMessage(
            dedup_key=m.dedup_key, obligation_id=m.obligation_id, cycle_key=m.cycle_key, unit_id=m.unit_id,
            kind=m.kind, channel=m.channel, recipient=m.recipient, subject=m.subject, body=m.body,
            body_format=m.body_format, attachments=list(m.attachments) or None, status="pending", attempts=0,
            created_at=utcnow(),
        ))
    try:
        with session.begin_nested():  # all at once; one savepoint
            session.add_all(rows)
        return len(rows)
    except IntegrityError:  # another worker enqueued some of the same keys in between: one by one
        pass
    new = 0
    for row in rows:
        row = OutboxMessage(**{c.key: getattr(row, c.key) for c in OutboxMessage.__table__.columns if c.key != "id"})
        try:
            with session.begin_nested():
                session.add(row)
            new += 1
        except IntegrityError:
            continue
    session.flush()
    return new


class DeliveryError(BhxhError):
    """Some messages could not be delivered; they stay pending for the next attempt."""


# Messages a sender claims in one transaction: one commit per chunk instead of one per message.
CLAIM_CHUNK = 8


def deliver_pending(
    session_maker,
    send: Callable[[OutboxMessage], None],
    *,
    channel: str | None = None,
    obligation_id: str | None = None,
    cycle_key: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 4,
) -> dict[str, int]:
    """Send every pending message (optionally of one channel or cycle), committing each as it goes.

    Messages are claimed (pending -> sending) CLAIM_CHUNK at a time in one transaction before they are sent, so
    two senders never send the same message; each is marked sent in its own transaction right after its
    handover, and one that fails goes back to failed with its error and is sent on the next attempt. Chunks
    are sent by `workers` threads. Messages claimed by a sender that died are released after STUCK_AFTER (a
    killed task delays at most workers x CLAIM_CHUNK messages by that long; only the one being handed over
    could go twice). Raises DeliveryError at the end if any failed, so the task shows as failed and retries.
    """
    scope = []
    if channel:
        scope.append(OutboxMessage.channel == channel)
    if obligation_id:
        scope.append(OutboxMessage.obligation_id == obligation_id)
    if cycle_key:
        scope.append(OutboxMessage.cycle_key == cycle_key)
    with session_maker() as session, session.begin():
        recover_stuck(session, *scope)
    with session_maker() as session:
        query = select(OutboxMessage.id).where(OutboxMessage.status.in_(("pending", "failed")), *scope)
        ids = list(session.scalars(query.order_by(OutboxMessage.id)))
    chunks = [ids[i : i + CLAIM_CHUNK] for i in range(0, len(ids), CLAIM_CHUNK)]

    def claim(chunk: list[int]) -> list[OutboxMessage]:
        """The messages of `chunk` this sender got; those another sender had already are left out."""
        with session_maker() as session, session.begin():
            mine = session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(chunk), OutboxMessage.status.in_(("pending", "failed")))
                .values(status="sending", attempts=OutboxMessage.attempts + 1, claimed_at=utcnow())
                .returning(OutboxMessage),  # the claimed rows themselves, as updated
                execution_options={"synchronize_session": False},
            )
            return sorted(mine, key=lambda m: m.id)

    def deliver_one(message: OutboxMessage) -> str:
        """'sent' or an error text."""
        try:
            send(message)
        except Exception as exc:  # a channel failure of any kind must not lose the message
            with session_maker() as session, session.begin():
                session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == message.id).values(status="failed", last_error=str(exc)[:2000])
                )
            return f"{message.recipient}: {exc}"
        with session_maker() as session, session.begin():
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message.id).values(status="sent", sent_at=utcnow(), last_error=None)
            )
        return "sent"

    def deliver_chunk(chunk: list[int]) -> list[str | None]:
        """One outcome per id: 'sent', an error text, or None when another sender had it already."""
        outcomes: dict[int, str] = {m.id: deliver_one(m) for m in claim(chunk)}
        return [outcomes.get(i) for i in chunk]

    sent = failed = 0
    errors: list[str] = []
    holding = getattr(send, "holding", None)  # a sender that keeps connections open for the whole run
    with holding() if holding else contextlib.nullcontext(), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        done = 0
        for outcomes in pool.map(deliver_chunk, chunks):
            for outcome in outcomes:
                done += 1
                if outcome == "sent":
                    sent += 1
                elif outcome is not None:
                    failed += 1
                    errors.append(outcome)
                if progress:
                    progress(done, len(ids))
    if failed:
        raise DeliveryError(
            f"{failed} tin nhắn chưa gửi được, sẽ gửi lại ở lần thử sau. Lỗi đầu tiên: {errors[0]}",
            f"{failed} messages could not be delivered and will be retried. First error: {errors[0]}",
            code="delivery_failed",
        )
    return {"sent": sent, "failed": failed}


# Far longer than any SMTP or webhook handover takes: a message still 'sending' after this lost its sender.
STUCK_AFTER = dt.timedelta(minutes=15)


def recover_stuck(session: Session, *scope, older_than: dt.timedelta = STUCK_AFTER) -> int:
    """Messages left in 'sending' by a sender that died go back to pending.

    A sender killed between the handover and marking 'sent' is the one case where a message may go twice;
    we prefer that to a lost message.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < utcnow() - older_than, *scope)
        .values(status="pending")
    )
    return result.rowcount

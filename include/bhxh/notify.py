"""Notifications ("thông báo"): the outbox and its delivery through apprise.

Every message is first written to the outbox with a deduplication key (obligation, cycle, unit, kind,
channel); delivery marks it sent. Re-runs, retries and clears enqueue the same key again, which is a no-op,
so no message is sent twice and one that failed is retried on the next attempt.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bhxh.errors import BhxhError
from bhxh.store import OutboxMessage, utcnow

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
    new = 0
    for m in messages:
        if m.channel not in CHANNELS:
            raise ValueError(f"unknown channel {m.channel}")
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == m.dedup_key)) is not None:
            continue
        row = OutboxMessage(
            dedup_key=m.dedup_key, obligation_id=m.obligation_id, cycle_key=m.cycle_key, unit_id=m.unit_id,
            kind=m.kind, channel=m.channel, recipient=m.recipient, subject=m.subject, body=m.body,
            body_format=m.body_format, attachments=list(m.attachments) or None, status="pending", attempts=0,
            created_at=utcnow(),
        )
        try:
            with session.begin_nested():
                session.add(row)
            new += 1
        except IntegrityError:  # another worker enqueued the same key in between
            continue
    session.flush()
    return new


class DeliveryError(BhxhError):
    """Some messages could not be delivered; they stay pending for the next attempt."""


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

    A message is claimed (pending -> sending) in its own transaction before it is sent, so two senders never
    send the same message; one that fails goes back to failed with its error and is sent on the next attempt.
    Messages are sent by `workers` threads (an SMTP handover waits mostly on the network). One claimed by a
    sender that died is released after STUCK_AFTER. Raises DeliveryError at the end if any failed, so the task
    shows as failed and retries.
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

    def deliver_one(message_id: int) -> str | None:
        """'sent', an error text, or None when another sender had it already."""
        with session_maker() as session, session.begin():
            claimed = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(("pending", "failed")))
                .values(status="sending", attempts=OutboxMessage.attempts + 1, claimed_at=utcnow())
            ).rowcount
        if not claimed:
            return None
        with session_maker() as session:
            message = session.get(OutboxMessage, message_id)
        try:
            send(message)
        except Exception as exc:  # a channel failure of any kind must not lose the message
            with session_maker() as session, session.begin():
                session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == message_id).values(status="failed", last_error=str(exc)[:2000])
                )
            return f"{message.recipient}: {exc}"
        with session_maker() as session, session.begin():
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id).values(status="sent", sent_at=utcnow(), last_error=None)
            )
        return "sent"

    sent = failed = 0
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for done, outcome in enumerate(pool.map(deliver_one, ids), start=1):
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


# -- apprise --------------------------------------------------------------------------------------------
def apprise_url(template: str, recipient: str) -> str:
    """An apprise URL for one recipient from a channel's URL in the connection.

    `{recipient}` in the URL is replaced; a mailto URL without it gets `to=`.
    """
    if "{recipient}" in template:
        return template.replace("{recipient}", quote(recipient, safe="@#"))
    if re.match(r"^mailtos?://", template):
        return template + ("&" if "?" in template else "?") + "to=" + quote(recipient, safe="@")
    return template


def apprise_sender(channel_urls: dict[str, list[str]]) -> Callable[[OutboxMessage], None]:
    """A `send` function for `deliver_pending` that delivers through apprise to the URLs of each channel."""
    import apprise

    def send(message: OutboxMessage) -> None:
        urls = channel_urls.get(message.channel) or []
        if not urls:
            raise DeliveryError(
                f"Chưa cấu hình kênh '{message.channel}' trong kết nối apprise.",
                f"No '{message.channel}' channel is configured in the apprise connection.",
                code="no_channel",
            )
        obj = apprise.Apprise()
        for url in urls:
            if not obj.add(apprise_url(url, message.recipient)):
                raise DeliveryError(f"URL kênh không hợp lệ: {url}", f"Invalid channel URL: {url}", code="bad_url")
        attach = None
        if message.attachments:
            attach = apprise.AppriseAttachment()
            for item in message.attachments:
                if Path(item).exists():
                    attach.add(item)
        fmt = apprise.NotifyFormat.HTML if message.body_format == "html" else apprise.NotifyFormat.TEXT
        body = message.body
        if message.channel == "chat":
            body = f"[{message.recipient}] {body}"
        if not obj.notify(body=body, title=message.subject, body_format=fmt, attach=attach):
            raise DeliveryError(
                f"Kênh {message.channel} không nhận tin nhắn gửi {message.recipient}.",
                f"The {message.channel} channel refused the message to {message.recipient}.",
                code="channel_refused",
            )

    return send


def channel_urls_from_config(config) -> dict[str, list[str]]:
    """The apprise connection's `config` ({"path", "tag"} or a list of them) grouped by tag."""
    items = config if isinstance(config, list) else [config]
    out: dict[str, list[str]] = {}
    for item in items:
        tags = item.get("tag") or "email"
        for tag in [tags] if isinstance(tags, str) else tags:
            out.setdefault(tag, []).append(item["path"])
    return out

"""Notifications ("thông báo"): the outbox and its delivery through apprise.

Every message is first written to the outbox with a deduplication key (obligation, cycle, unit, kind,
channel); delivery marks it sent. Re-runs, retries and clears enqueue the same key again, which is a no-op,
so no message is sent twice and one that failed is retried on the next attempt.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import re
import threading
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


# -- SMTP sessions kept open between messages -------------------------------------------------------------
log = logging.getLogger(__name__)
_ACTIVE_SESSIONS: contextvars.ContextVar[SmtpSessions | None] = contextvars.ContextVar("bhxh_smtp_sessions", default=None)


class SmtpSessions:
    """SMTP sessions kept open between the messages of one delivery run, for apprise's e-mail plugin.

    apprise opens a new SMTP session for every notify() call and, before each, builds a new TLS context,
    loading the system's CA bundle even for a plain connection: ~30 ms of CPU per message on this machine,
    most of what an e-mail cost (28 of 32 ms measured), and a TLS handshake and login per message on a real
    server. While a run holds this (`holding()`), apprise's plugin takes an idle session to the same server
    and account if one still answers NOOP, else opens one as it always does, and gives it back after the
    message; the last holder's exit closes them all (QUIT). The URL, the MIME message, TLS and login stay
    apprise's. A session carries at most MAX_MESSAGES messages (servers limit messages per connection).
    Outside a run, or if apprise's layout is not the one this was written for, nothing changes.
    """

    MAX_MESSAGES = 100

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple, list] = {}
        self._holders = 0
        self.opened = 0  # sessions opened while held (for tests and benchmarks)

    @contextlib.contextmanager
    def holding(self):
        with self._lock:
            self._holders += 1
        try:
            yield self
        finally:
            with self._lock:
                self._holders -= 1
                idle = [] if self._holders else [s for sessions in self._idle.values() for s in sessions]
                if not self._holders:
                    self._idle.clear()
            for session in idle:
                _quit(session[0])

    @property
    def held(self) -> bool:
        return self._holders > 0

    def opened_one(self) -> None:
        with self._lock:
            self.opened += 1

    def take(self, key: tuple):
        """An idle session (smtplib.SMTP, messages sent on it) that still answers, or None."""
        while True:
            with self._lock:
                sessions = self._idle.get(key)
                if not sessions:
                    return None
                smtp, used = sessions.pop()
            try:
                alive = smtp.noop()[0] == 250
            except Exception:  # noqa: BLE001 -- a session the server closed: open another
                alive = False
            if alive:
                return smtp, used
            _quit(smtp)

    def give(self, key: tuple, smtp, used: int) -> None:
        with self._lock:
            if self._holders and used < self.MAX_MESSAGES:
                self._idle.setdefault(key, []).append((smtp, used))
                return
        _quit(smtp)


def _quit(smtp) -> None:
    with contextlib.suppress(Exception):
        smtp.quit()
    with contextlib.suppress(Exception):
        smtp.close()


def _install_session_reuse() -> bool:
    """Route apprise's e-mail plugin through SmtpSessions while one is active in the calling context."""
    try:
        from apprise.plugins.email import base as email_base
        from apprise.plugins.email.smtp import AppriseSMTPController
    except ImportError:  # another apprise layout: one session per message, as apprise does
        log.info("apprise's SMTP controller not found; e-mails use one session each")
        return False
    current = getattr(email_base, "AppriseSMTPController", None)
    if current is None:
        return False
    if getattr(current, "bhxh_reuses_sessions", False):
        return True

    class ReusedSMTPController(AppriseSMTPController):
        bhxh_reuses_sessions = True

        def _key(self) -> tuple:
            return (self.host, self.port, self.secure_mode, self.user, self.password, self.verify_certificate)

        def __enter__(self):
            pool = _ACTIVE_SESSIONS.get()
            self._bhxh_pool = pool if pool is not None and pool.held else None
            if self._bhxh_pool is None:
                return super().__enter__()
            taken = pool.take(self._key())
            if taken is None:
                super().__enter__()
                pool.opened_one()
                self._bhxh_used = 0
            else:
                self._socket, self._bhxh_used = taken
            return self

        def __exit__(self, exc_type, exc_val, exc_tb):
            pool = getattr(self, "_bhxh_pool", None)
            if pool is None or exc_type is not None or self._socket is None:
                return super().__exit__(exc_type, exc_val, exc_tb)
            smtp, self._socket = self._socket, None
            pool.give(self._key(), smtp, self._bhxh_used + 1)
            return None

    email_base.AppriseSMTPController = ReusedSMTPController
    return True


class AppriseSender:
    """A `send` function for `deliver_pending` that delivers through apprise to the URLs of each channel."""

    def __init__(self, channel_urls: dict[str, list[str]]) -> None:
        self.channel_urls = channel_urls
        self.sessions = SmtpSessions() if _install_session_reuse() else None

    def holding(self):
        return self.sessions.holding() if self.sessions else contextlib.nullcontext()

    def __call__(self, message: OutboxMessage) -> None:
        import apprise

        urls = self.channel_urls.get(message.channel) or []
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
        token = _ACTIVE_SESSIONS.set(self.sessions)
        try:
            delivered = obj.notify(body=body, title=message.subject, body_format=fmt, attach=attach)
        finally:
            _ACTIVE_SESSIONS.reset(token)
        if not delivered:
            raise DeliveryError(
                f"Kênh {message.channel} không nhận tin nhắn gửi {message.recipient}.",
                f"The {message.channel} channel refused the message to {message.recipient}.",
                code="channel_refused",
            )


def apprise_sender(channel_urls: dict[str, list[str]]) -> AppriseSender:
    return AppriseSender(channel_urls)


def channel_urls_from_config(config) -> dict[str, list[str]]:
    """The apprise connection's `config` ({"path", "tag"} or a list of them) grouped by tag."""
    items = config if isinstance(config, list) else [config]
    out: dict[str, list[str]] = {}
    for item in items:
        tags = item.get("tag") or "email"
        for tag in [tags] if isinstance(tags, str) else tags:
            out.setdefault(tag, []).append(item["path"])
    return out

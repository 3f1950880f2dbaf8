"""Channels ("kênh gửi"): apprise URLs per tag (email, chat), the sender the outbox hands messages to, and
SMTP sessions shared by one delivery run.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import threading
from pathlib import Path
from urllib.parse import quote

from bhxh.notify.outbox import DeliveryError
from bhxh.store.models import OutboxMessage


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

"""The department's mailbox ("hộp thư của đơn vị tổng hợp", e.g. khth.khdt@vss.gov.vn): every message in its
INBOX becomes one parcel (bhxh.intake.parcels): its attachments, the signed report and the data appendix, taken
into the same intake as every other channel; then the message is moved to the "processed" folder.

Plain imaplib, not Airflow's IMAP provider: its ImapHook (apache-airflow-providers-imap 3.13) works on sequence
numbers with `(RFC822)` fetches, so it cannot give the server's INTERNALDATE (the time received, which is the
one that counts: never the Date header, which the sender writes), the UID, the Message-ID without parsing the
whole message, nor MOVE a message; it marks every scanned message \\Seen, decodes whole messages as UTF-8, offers
no STARTTLS and no CA of our own. imap-tools has UIDs and MOVE but not INTERNALDATE either. What we need is a
few IMAP commands: UID SEARCH, UID FETCH (RFC822.SIZE INTERNALDATE BODY.PEEK[...]), UID MOVE.

Guarantees: a message is moved (or, on a server without MOVE, flagged $BhxhProcessed) only after the store
committed its parcel, and is never deleted; a message recorded but not moved (the server went away) is
recognised on the next pull by its Message-ID and its attachments' checksums and only moved, with no second
answer. Everything a message brings is bounded: its size before it is fetched, the header block, the number of
parts and attachments, each attachment's size (the intake's limits), each IMAP round trip (socket timeout),
and the signature check's time (bhxh.intake.signatures). TLS (imaps://) or STARTTLS (imap:// to any host but
loopback) is required; a password never goes over plain text to another machine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.errors import BhxhError
from bhxh.intake.links import is_loopback
from bhxh.intake.mail import MAX_HEADER_BYTES, MAX_MESSAGE_BYTES, Mail, parse_mail, registered_sender
from bhxh.intake.parcels import Delivery, ParcelOutcome, outcome_of, recorded, sort_files, take
from bhxh.intake.signatures import ABSENT, check_document

MAX_MESSAGES_PER_RUN = 500
IMAP_TIMEOUT = 30.0  # seconds for any one IMAP round trip
PROCESSED_KEYWORD = "$BhxhProcessed"


class MailboxError(BhxhError):
    """The mailbox cannot be reached or refuses us (nothing was taken from it)."""


@dataclass(frozen=True)
class MailboxSettings:
    """Where the mailbox is: `imaps://user:password@host:993/INBOX` (TLS) or `imap://...:143/INBOX` (STARTTLS,
    plain only on loopback); query parameters `processed=<folder>`, `starttls=0|1`, `cafile=<path>`."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    processed: str = "processed"
    security: str = "tls"  # tls | starttls | plain
    cafile: str | None = None
    timeout: float = IMAP_TIMEOUT

    @classmethod
    def from_url(cls, url: str) -> MailboxSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise MailboxError(
                f"Địa chỉ hộp thư không hợp lệ: '{parts.scheme}://{parts.hostname or ''}'. Dạng đúng: imaps://user:password@host:993/INBOX.",
                f"Invalid mailbox address '{parts.scheme}://{parts.hostname or ''}'. Expected imaps://user:password@host:993/INBOX.",
                code="mailbox_url",
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.scheme == "imaps":
            security = "tls"
        elif query.get("starttls", "0" if is_loopback(parts.hostname) else "1") == "1":
            security = "starttls"
        else:
            security = "plain"
        return cls(
            host=parts.hostname, port=parts.port or (993 if security == "tls" else 143),
            user=unquote(parts.username or ""), password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX", processed=query.get("processed", "processed"),
            security=security, cafile=query.get("cafile"),
        )

    def redacted(self) -> str:
        scheme = "imaps" if self.security == "tls" else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


# -- the IMAP conversation ------------------------------------------------------------------------------------
_META = re.compile(rb"UID (\d+)|RFC822\.SIZE (\d+)|INTERNALDATE \"([^\"]+)\"")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def internaldate(text: str) -> dt.datetime:
    """IMAP's date-time ("20-Mar-2026 07:05:00 +0000") as an aware instant."""
    match = re.fullmatch(r"\s*(\d{1,2})-(\w{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})", text)
    if not match:
        raise ValueError(f"not an INTERNALDATE: {text!r}")
    d, mon, y, hh, mm, ss, sign, oh, om = match.groups()
    offset = dt.timedelta(hours=int(oh), minutes=int(om)) * (1 if sign == "+" else -1)
    return dt.datetime(int(y), _MONTHS[mon], int(d), int(hh), int(mm), int(ss), tzinfo=dt.timezone(offset))


@dataclass(frozen=True)
class Head:
    uid: bytes
    size: int
    received_at: dt.datetime  # the server's INTERNALDATE


class Mailbox:
    """One IMAP session on the mailbox's folder (a context manager)."""

    def __init__(self, settings: MailboxSettings) -> None:
        self.settings = settings
        self.imap: imaplib.IMAP4 | None = None
        self.can_move = False

    def __enter__(self) -> Mailbox:
        s = self.settings
        if s.security == "plain" and not is_loopback(s.host):
            raise MailboxError("Không gửi mật khẩu hộp thư qua kết nối không mã hóa: dùng imaps:// hoặc STARTTLS.",
                               "Refusing to send the mailbox password unencrypted: use imaps:// or STARTTLS.", code="mailbox_plaintext")
        context = ssl.create_default_context(cafile=s.cafile)
        try:
            if s.security == "tls":
                self.imap = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=context, timeout=s.timeout)
            else:
                self.imap = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    self.imap.starttls(ssl_context=context)
            self.imap.login(s.user, s.password)
            # the capabilities before login do not list MOVE (Dovecot): ask again
            typ, data = self.imap.capability()
            self.can_move = typ == "OK" and b"MOVE" in (data[-1] or b"").upper().split()
            self._ok(self.imap.select(_quote(s.folder)), f"SELECT {s.folder}")
            if self.can_move:
                typ, listed = self.imap.list('""', _quote(s.processed))
                if typ != "OK" or not [x for x in listed if x]:
                    self._ok(self.imap.create(_quote(s.processed)), f"CREATE {s.processed}")
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            self.__exit__(None, None, None)
            raise _unavailable(s, exc) from exc
        return self

    def __exit__(self, *_exc) -> None:
        if self.imap is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                self.imap.logout()
            self.imap = None

    @staticmethod
    def _ok(response: tuple, what: str):
        typ, data = response
        if typ != "OK":
            raise imaplib.IMAP4.error(f"{what}: {typ} {data!r}"[:300])
        return data

    def pending(self) -> list[bytes]:
        """UIDs of the messages not yet processed, oldest first."""
        data = self._ok(self.imap.uid("SEARCH", None, "UNKEYWORD", PROCESSED_KEYWORD), "UID SEARCH")
        return (data[0] or b"").split()

    def head(self, uid: bytes) -> Head:
        data = self._ok(self.imap.uid("FETCH", uid, "(UID RFC822.SIZE INTERNALDATE)"), "UID FETCH")
        found: dict[int, bytes] = {}
        for item in data:
            meta = item[0] if isinstance(item, tuple) else item
            for match in _META.finditer(meta or b""):
                for i, group in enumerate(match.groups()):
                    if group is not None:
                        found[i] = group
        if 1 not in found or 2 not in found:
            raise imaplib.IMAP4.error(f"UID FETCH {uid!r}: no size or INTERNALDATE")
        return Head(uid, int(found[1]), internaldate(found[2].decode()))

    def body(self, uid: bytes, section: str = "BODY.PEEK[]") -> bytes:
        data = self._ok(self.imap.uid("FETCH", uid, f"({section})"), "UID FETCH BODY")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return item[1]
        raise imaplib.IMAP4.error(f"UID FETCH {uid!r}: no body")

    def header(self, uid: bytes) -> bytes:
        """The first MAX_HEADER_BYTES of the header block (for a message too large to fetch)."""
        return self.body(uid, f"BODY.PEEK[HEADER]<0.{MAX_HEADER_BYTES}>")

    def done(self, uid: bytes) -> None:
        """Out of the INBOX into the processed folder (never deleted); flagged where the server cannot MOVE."""
        if self.can_move:
            self._ok(self.imap.uid("MOVE", uid, _quote(self.settings.processed)), "UID MOVE")
        else:
            self._ok(self.imap.uid("STORE", uid, "+FLAGS.SILENT", f"({PROCESSED_KEYWORD} \\Seen)"), "UID STORE")


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unavailable(settings: MailboxSettings, exc: BaseException) -> MailboxError:
    why = f"{type(exc).__name__}: {str(exc)[:200]}"
    return MailboxError(f"Không kết nối được hộp thư {settings.redacted()} ({why}).", f"The mailbox {settings.redacted()} is unavailable ({why}).", code="mailbox_unavailable")


# -- one pull ------------------------------------------------------------------------------------------------
@dataclass
class Pulled:
    uid: str
    mail: Mail
    outcome: ParcelOutcome


@dataclass
class PullRun:
    """What one pull did: every message taken (or recognised), and why it stopped early if it did."""

    pulled: list[Pulled] = field(default_factory=list)
    moved: int = 0
    mailbox_error: str | None = None
    store_error: str | None = None
    seconds: float = 0.0

    @property
    def unavailable(self) -> bool:
        return bool(self.mailbox_error or self.store_error)


Answer = Callable[[Session, ParcelOutcome, Mail], int]


def pull(
    settings: MailboxSettings,
    session_maker: sessionmaker,
    *,
    roots: tuple[bytes, ...] = (),
    registry: UnitRegistry | None = None,
    answer: Answer | None = None,
    authserv_id: str | None = None,
    limit: int = MAX_MESSAGES_PER_RUN,
    progress: Callable[[int, int], None] | None = None,
) -> PullRun:
    """Take every pending message of the folder (at most `limit`), one transaction each, then move it."""
    registry = registry or default_registry()
    run = PullRun()
    started = time.monotonic()
    try:
        with Mailbox(settings) as box:
            uids = box.pending()[:limit]
            for index, uid in enumerate(uids, start=1):
                step = _one(box, uid, session_maker, roots, registry, answer, authserv_id, run)
                if step is False:
                    break
                if progress:
                    progress(index, len(uids))
    except MailboxError as exc:
        run.mailbox_error = exc.message_en
    except (OSError, imaplib.IMAP4.error, ssl.SSLError, TimeoutError) as exc:
        run.mailbox_error = _unavailable(settings, exc).message_en
    run.seconds = round(time.monotonic() - started, 3)
    return run


def _one(box: Mailbox, uid: bytes, session_maker: sessionmaker, roots, registry, answer, authserv_id, run: PullRun) -> bool:
    """One message; False when the pull must stop (the store is unavailable). IMAP errors propagate."""
    head = box.head(uid)
    if head.size <= MAX_MESSAGE_BYTES:
        mail = parse_mail(box.body(uid), authserv_id=authserv_id)
    else:  # only its header block: who sent it and what it is, to answer
        mail = parse_mail(box.header(uid), authserv_id=authserv_id)
        mail.files, mail.problem = [], "message_too_large"
    delivery = Delivery("mailbox", mail.ref, head.received_at, mail.sender)
    sorted_ = sort_files(mail.files)
    try:
        with session_maker() as session:
            previous = recorded(session, delivery.channel, delivery.ref)
            outcome = outcome_of(session, previous, already=True) if previous is not None else None
        if outcome is None:
            document = sorted_.document if sorted_.refusal is None else None
            signature = check_document(document.content, document.kind, roots) if document else ABSENT
            with session_maker() as session, session.begin():
                outcome = take(
                    session, mail.files, delivery, roots=roots, registry=registry, signature=signature, refusal=mail.problem,
                    verify_sender=lambda unit_id: registered_sender(registry, unit_id, mail.sender) and mail.authenticated is not False,
                )
                # a machine's message is recorded but not answered (an auto-reply to our answer would loop)
                if answer is not None and not outcome.already and not (mail.automatic and outcome.state != "stored"):
                    answer(session, outcome, mail)
    except SQLAlchemyError as exc:
        run.store_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return False
    run.pulled.append(Pulled(uid.decode(), mail, outcome))
    box.done(uid)  # only now: the store has committed it
    run.moved += 1
    return True

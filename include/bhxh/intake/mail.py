"""A message from the department's mailbox, read with bounds ("thư gửi đến"): who sent it, its identity (the
Message-ID and its attachments' checksums), its attachments; whether the sender may send for a unit.

Nothing here trusts the message: it is parsed only if its header block is under MAX_HEADER_BYTES, with at most
MAX_PARTS parts, headers cut to their RFC 5322 line length, names decoded but only ever shown (never used as a
path). The From address is the sender's claim; where the receiving server stamps Authentication-Results
(RFC 8601), `authenticated` also asks it whether the From domain passed DMARC, DKIM or SPF.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass

from bhxh.calendar.units import UnitRegistry
from bhxh.intake.parcels import IncomingFile

MAX_MESSAGE_BYTES = 32 * 1024 * 1024  # two 10 MB files, base64-encoded, and the rest of the message
MAX_HEADER_BYTES = 64 * 1024
MAX_PARTS = 100


@dataclass
class Mail:
    """What the pull needs from a message: who sent it, its identity, its attachments."""

    message_id: str
    sender: str | None  # the From address, lower-case; None if there is not exactly one
    subject: str
    files: list[IncomingFile]
    problem: str | None = None  # message_too_large | headers_too_long | too_many_parts
    authenticated: bool | None = None  # the receiving server's Authentication-Results, when asked to check them
    automatic: bool = False  # an auto-reply, a bounce, a list message: never answered (RFC 3834), or mail loops

    @property
    def ref(self) -> str:
        """The delivery's identity: its Message-ID and its attachments' checksums."""
        digest = hashlib.sha256("|".join(sorted(f.sha256 for f in self.files)).encode()).hexdigest()[:16]
        return f"{self.message_id[:380]}#{digest}"


def _header(msg, name: str, limit: int = 998) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    try:
        text = str(email.header.make_header(email.header.decode_header(str(value)[: limit * 4])))
    except (UnicodeError, LookupError, email.errors.HeaderParseError):
        text = str(value)
    return " ".join(text.split())[:limit]


def _sender(msg) -> str | None:
    addresses = [a for _name, a in email.utils.getaddresses([_header(msg, "From")]) if a]
    return addresses[0].lower() if len(addresses) == 1 and "@" in addresses[0] else None


def parse_mail(raw: bytes, *, authserv_id: str | None = None) -> Mail:
    """The message's sender, Message-ID and attachments; never raises on a malformed message."""
    end = raw.find(b"\r\n\r\n")
    end = raw.find(b"\n\n") if end < 0 else end
    synthetic = "<sha256:" + hashlib.sha256(raw).hexdigest() + "@bhxh.invalid>"
    if len(raw) > MAX_MESSAGE_BYTES:
        return Mail(synthetic, None, "", [], "message_too_large")
    if end > MAX_HEADER_BYTES or (end < 0 and len(raw) > MAX_HEADER_BYTES):
        return Mail(synthetic, None, "", [], "headers_too_long")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    message_id = _header(msg, "Message-ID", 380) or synthetic
    mail = Mail(message_id, _sender(msg), _header(msg, "Subject", 300), [], automatic=is_automatic(msg))
    if authserv_id:
        mail.authenticated = authenticated(msg, authserv_id, mail.sender)
    for count, part in enumerate(msg.walk(), start=1):
        if count > MAX_PARTS:
            mail.files, mail.problem = [], "too_many_parts"
            return mail
        if part.is_multipart():
            continue
        name = _filename(part)
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        mail.files.append(IncomingFile.of(name, payload))
    return mail


def is_automatic(msg) -> bool:
    """Sent by a machine, not a person: answering it could start a loop with an auto-responder (RFC 3834)."""
    if _header(msg, "Auto-Submitted").lower() not in ("", "no"):
        return True
    if _header(msg, "Precedence").lower() in ("bulk", "junk", "list", "auto_reply"):
        return True
    if any(msg.get(h) for h in ("X-Autoreply", "X-Autorespond", "List-Id", "X-Auto-Response-Suppress")):
        return True
    sender = _sender(msg) or ""
    return sender.split("@")[0] in ("mailer-daemon", "postmaster", "noreply", "no-reply") or _header(msg, "Return-Path") == "<>"


def _filename(part) -> str | None:
    """An attachment's name (RFC 2231 or encoded words decoded); None for the message's own text."""
    name = part.get_filename()
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if name is None and disposition != "attachment":
        ctype = part.get_content_type()
        if ctype.startswith("text/") or ctype.startswith("multipart/"):
            return None
    if name is None:
        return f"tep_dinh_kem.{part.get_content_subtype()[:10]}"
    if isinstance(name, tuple):  # undecodable RFC 2231 value
        name = name[2]
    try:
        return str(email.header.make_header(email.header.decode_header(str(name)[:1000])))
    except (UnicodeError, LookupError, email.errors.HeaderParseError):
        return str(name)


def authenticated(msg, authserv_id: str, sender: str | None) -> bool:
    """The receiving server (`authserv_id`) says the From domain is authentic: DMARC pass, or DKIM pass for the
    From domain, or SPF pass for an envelope sender in it (RFC 8601 Authentication-Results)."""
    if not sender:
        return False
    domain = sender.rsplit("@", 1)[1]
    for value in (msg.get_all("Authentication-Results") or [])[:20]:
        text = " ".join(str(value).split()).lower()[:4000]
        if text.split(";", 1)[0].strip().split(" ")[0] != authserv_id.lower():
            continue
        for result in text.split(";")[1:]:
            result = result.strip()
            if result.startswith("dmarc=pass") and f"header.from={domain}" in result:
                return True
            if result.startswith("dkim=pass") and re.search(rf"header\.d={re.escape(domain)}\b", result):
                return True
            if result.startswith("spf=pass") and re.search(rf"smtp\.mailfrom=\S*@?{re.escape(domain)}\b", result):
                return True
    return False


def registered_sender(registry: UnitRegistry, unit_id: str | None, sender: str | None) -> bool:
    """The sender is one of the addresses the registry holds for the unit (compared without case)."""
    if not unit_id or not sender or unit_id not in registry:
        return False
    addresses = re.split(r"[,;\s]+", (registry.get(unit_id).email or "").lower())
    return sender.lower() in [a for a in addresses if a]

"""A parcel ("hồ sơ nộp"): what a unit sends in one go by one channel (a message's attachments, an upload) — the
signed report (PDF or DOCX) and its data appendix (XLSX or CSV) — taken into the intake as one submission.

Every channel ends here, and here in bhxh.intake.submission.ingest, the same checks as a file dropped in the
inbox: the appendix is read and validated by the intake, the signed document is kept byte for byte and its
signature checked (bhxh.intake.signatures) under the obligation's policy, and the delivery is recorded once
(table parcels, by channel and the channel's own reference: a Message-ID, an upload id), so a second pull of
the same message, or a retried task, stores nothing twice. A parcel from a sender the registry does not know
for the unit is held: kept, not counted, until an operator releases it. Every stored parcel gets a receipt
number ("giấy biên nhận"); the answers themselves are rendered and queued by the caller (bhxh.steps.receipts).
Files are told apart by their content, never by the name or type the sender gave; names are only shown.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import TZ
from bhxh.calendar.forms import FILENAME_RE, file_name
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.intake.problems import Problem
from bhxh.intake.reading import MAX_FILE_BYTES, too_large
from bhxh.intake.signatures import (
    ABSENT,
    MAX_DOCUMENT_BYTES,
    SignatureCheck,
    check_document,
    signature_problems,
)
from bhxh.intake.submission import IngestResult, check_submission, ingest, ingest_refused
from bhxh.store.engine import utcnow
from bhxh.store.models import Parcel, ParcelFile, StoredFile

MAX_FILES = 10  # files looked at in one parcel; more is refused whole
MAX_NAME_CHARS = 120
APPENDIX_KINDS = ("xlsx", "csv")
DOCUMENT_KINDS = ("pdf", "docx")


# -- files --------------------------------------------------------------------------------------------------
def safe_name(name: str | None, fallback: str = "tep") -> str:
    """A name to show and to file under: the last path part, no control characters, NFC, at most 120 characters.
    Never used as a path."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not text:
        return fallback
    if len(text) > MAX_NAME_CHARS:
        stem, dot, ext = text.rpartition(".")
        ext = ext[:10] if dot else ""
        text = (stem or text)[: MAX_NAME_CHARS - len(ext) - 1] + ("." + ext if ext else "")
    return text


def sniff(content: bytes, name: str = "") -> str:
    """pdf | docx | xlsx | csv | other, from the bytes (a .csv name is needed for text, which has no signature)."""
    if b"%PDF-" in content[:1024]:
        return "pdf"
    if content[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as zf:
                names = set(zf.namelist()[:5000])  # the central directory only: nothing is decompressed
        except (zipfile.BadZipFile, ValueError):
            return "other"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        return "other"
    if name.lower().endswith(".csv"):
        return "csv"  # text has no signature; the intake's reader refuses what does not decode
    return "other"


@dataclass(frozen=True)
class IncomingFile:
    """One file as it arrived: the name the sender gave it (made safe) and its bytes."""

    name: str
    content: bytes = field(repr=False)

    @classmethod
    def of(cls, name: str | None, content: bytes) -> IncomingFile:
        return cls(safe_name(name), content)

    @cached_property
    def kind(self) -> str:
        return sniff(self.content, self.name)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class Delivery:
    """How and when a parcel came: its channel, the channel's reference, the time the department's side received
    it (a mailbox's INTERNALDATE, the portal's clock), the sender; the portal also knows what it is for."""

    channel: str  # mailbox | portal
    ref: str
    received_at: dt.datetime
    sender: str | None = None
    unit_id: str | None = None
    obligation_id: str | None = None
    cycle_key: str | None = None


@dataclass(frozen=True)
class FileLine:
    """A file as the receipt lists it."""

    name: str
    kind: str
    role: str  # appendix | document | ignored
    size: int
    sha256: str
    note: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ParcelOutcome:
    """What became of a parcel. `already`: the delivery was recorded before (nothing new stored, nothing to answer)."""

    parcel_id: int
    state: str  # stored | held | released | refused
    received_at: dt.datetime
    files: list[FileLine]
    signature: SignatureCheck = ABSENT
    policy: str = "recommended"
    result: IngestResult | None = None
    unit_id: str | None = None
    obligation_id: str | None = None
    cycle_key: str | None = None
    receipt_number: str | None = None
    reason: str | None = None  # why refused or held
    sender: str | None = None
    sender_verified: bool | None = None
    already: bool = False

    @property
    def accepted(self) -> bool:
        return self.state in ("stored", "released") and self.result is not None and self.result.status == "accepted"

    def as_dict(self) -> dict:
        return {
            "parcel_id": self.parcel_id, "state": self.state, "receipt_number": self.receipt_number,
            "received_at": self.received_at.isoformat(), "unit": self.unit_id, "obligation": self.obligation_id,
            "period": self.cycle_key, "reason": self.reason, "sender": self.sender, "sender_verified": self.sender_verified,
            "files": [f.as_dict() for f in self.files], "signature": self.signature.as_dict(), "signature_policy": self.policy,
            "result": self.result.as_json() if self.result else None, "already": self.already,
        }


@dataclass
class Sorted:
    """A parcel's files by role: the appendix, the signed document, the rest (with why they are not used)."""

    appendix: IncomingFile | None
    document: IncomingFile | None
    ignored: list[tuple[IncomingFile, str]]
    refusal: str | None  # no_files | too_many_files | no_appendix | several_appendices

    def lines(self) -> list[FileLine]:
        out = []
        if self.appendix:
            out.append(FileLine(self.appendix.name, self.appendix.kind, "appendix", self.appendix.size, self.appendix.sha256))
        if self.document:
            out.append(FileLine(self.document.name, self.document.kind, "document", self.document.size, self.document.sha256))
        out += [FileLine(f.name, f.kind, "ignored", f.size, f.sha256, why) for f, why in self.ignored]
        return out


def sort_files(files: Sequence[IncomingFile]) -> Sorted:
    """The appendix (exactly one XLSX or CSV), the signed report (the first PDF, else the first DOCX), the rest."""
    if not files:
        return Sorted(None, None, [], "no_files")
    if len(files) > MAX_FILES:
        return Sorted(None, None, [(f, "too_many_files") for f in files], "too_many_files")
    appendices = [f for f in files if f.kind in APPENDIX_KINDS]
    documents = sorted((f for f in files if f.kind in DOCUMENT_KINDS), key=lambda f: DOCUMENT_KINDS.index(f.kind))
    document = documents[0] if documents else None
    ignored = [(f, "not_a_report_file") for f in files if f.kind not in APPENDIX_KINDS + DOCUMENT_KINDS]
    ignored += [(f, "extra_document") for f in documents[1:]]
    if len(appendices) > 1:
        return Sorted(None, document, ignored + [(f, "several_appendices") for f in appendices], "several_appendices")
    if not appendices:
        return Sorted(None, document, ignored, "no_appendix")
    return Sorted(appendices[0], document, ignored, None)


# -- taking a parcel in ---------------------------------------------------------------------------------------
def recorded(session: Session, channel: str, ref: str) -> Parcel | None:
    return session.scalar(select(Parcel).where(Parcel.channel == channel, Parcel.ref == ref[:400]))


def filing_name(appendix: IncomingFile, delivery: Delivery) -> str:
    """The name the intake files the appendix under: the convention's own for the portal (unit, obligation and
    cycle from the unit's link), the sender's for a message, with the extension its content has."""
    suffix = "." + appendix.kind
    if delivery.unit_id and delivery.obligation_id and delivery.cycle_key:
        return file_name(delivery.obligation_id, delivery.cycle_key, delivery.unit_id, suffix)
    stem = appendix.name.rsplit(".", 1)[0] if "." in appendix.name else appendix.name
    return stem + suffix


def filed_for(appendix: IncomingFile, name: str, catalogue: Catalogue, registry: UnitRegistry) -> dict[str, str | None]:
    """(obligation, period, unit) the intake will file the appendix under: from the name, else from its block."""
    guess = FILENAME_RE.match(name)
    if guess:
        return {k: guess[k] for k in ("obligation", "period", "unit")}
    return check_submission(appendix.content, name, catalogue=catalogue, registry=registry)[3]


def take(
    session: Session,
    files: Sequence[IncomingFile],
    delivery: Delivery,
    *,
    roots: Sequence[bytes] = (),
    verify_sender: Callable[[str | None], bool] | None = None,
    catalogue: Catalogue | None = None,
    registry: UnitRegistry | None = None,
    signature: SignatureCheck | None = None,
    refusal: str | None = None,
) -> ParcelOutcome:
    """Record a parcel and take its appendix through the intake; in the caller's transaction.

    `verify_sender(unit_id)`: whether the sender may send for that unit (a message's From against the registry);
    None when the channel already proved it (the portal's link). `signature`: the document's verdict if the
    caller checked it already (outside its transaction). `refusal`: the channel refuses the whole delivery (a
    message too large to fetch): recorded with that reason, nothing kept.
    """
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
    previous = recorded(session, delivery.channel, delivery.ref)
    if previous is not None:
        return outcome_of(session, previous, already=True)
    sorted_ = sort_files(files)
    if refusal is not None or sorted_.refusal is not None:
        return _record(session, delivery, sorted_, "refused", reason=refusal or sorted_.refusal, keep=False)
    appendix, document = sorted_.appendix, sorted_.document
    assert appendix is not None
    name = filing_name(appendix, delivery)
    if appendix.size > MAX_FILE_BYTES:  # as the inbox does: its name, size and checksum kept, never its content
        result = ingest_refused(session, name, appendix.size, appendix.sha256, delivery.received_at, too_large(appendix.size))
        return _record(session, delivery, sorted_, "stored", keep=True, result=result)
    filed = filed_for(appendix, name, catalogue, registry)
    ob = catalogue.obligations.get(filed["obligation"] or "")
    policy = ob.signature if ob else "recommended"
    if signature is None:
        signature = check_document(document.content, document.kind, roots) if document else ABSENT
    verified = None if verify_sender is None else bool(verify_sender(filed["unit"]))
    common = {"signature": signature, "policy": policy, "filed": filed, "verified": verified}
    if verified is False:
        return _record(session, delivery, sorted_, "held", reason="unregistered_sender", keep=True, **common)
    result = ingest(
        session, appendix.content, name, delivery.received_at, catalogue=catalogue, registry=registry,
        document_sha256=document.sha256 if document else None, extra_problems=signature_problems(policy, signature),
    )
    return _record(session, delivery, sorted_, "stored", keep=True, result=result, **common)


def release(session: Session, parcel_id: int, *, roots: Sequence[bytes] = (), catalogue: Catalogue | None = None,
            registry: UnitRegistry | None = None) -> ParcelOutcome:
    """Let a held parcel in (an operator checked the sender): its appendix goes through the intake with the time
    the parcel was received, as if it had come from the registered address."""
    parcel = session.get(Parcel, parcel_id)
    if parcel is None or parcel.state != "held":
        raise ValueError(f"parcel {parcel_id} is not held")
    rows = list(session.scalars(select(ParcelFile).where(ParcelFile.parcel_id == parcel.id).order_by(ParcelFile.id)))
    content = {r.role: (r, session.get(StoredFile, r.sha256).content) for r in rows if r.kept}
    app_row, app_bytes = content["appendix"]
    document = content.get("document")
    signature = check_document(document[1], document[0].kind, roots) if document else ABSENT
    ob = (catalogue or default_catalogue()).obligations.get(parcel.obligation_id or "")
    policy = ob.signature if ob else "recommended"
    name = filing_name(IncomingFile(app_row.name, app_bytes), Delivery(parcel.channel, parcel.ref, parcel.received_at))
    result = ingest(
        session, app_bytes, name, parcel.received_at, catalogue=catalogue, registry=registry,
        document_sha256=document[0].sha256 if document else None, extra_problems=signature_problems(policy, signature),
    )
    parcel.state, parcel.submission_id = "released", result.submission_id
    parcel.signature_state, parcel.signature = signature.state, signature.as_dict()
    parcel.unit_id, parcel.obligation_id, parcel.cycle_key = result.unit, result.obligation, result.period
    session.flush()
    return outcome_of(session, parcel, result=result, signature=signature)


def _record(session: Session, delivery: Delivery, sorted_: Sorted, state: str, *, keep: bool, reason: str | None = None,
            result: IngestResult | None = None, signature: SignatureCheck = ABSENT, policy: str = "recommended",
            filed: dict | None = None, verified: bool | None = None) -> ParcelOutcome:
    filed = filed or {}
    unit = (result.unit if result else None) or filed.get("unit") or delivery.unit_id
    obligation = (result.obligation if result else None) or filed.get("obligation") or delivery.obligation_id
    period = (result.period if result else None) or filed.get("period") or delivery.cycle_key
    parcel = Parcel(
        channel=delivery.channel, ref=delivery.ref[:400], received_at=delivery.received_at,
        sender=(delivery.sender or None) and delivery.sender[:320],
        sender_verified=verified if verified is not None else delivery.channel == "portal",  # the portal: by the link
        unit_id=unit and unit[:64], obligation_id=obligation and obligation[:64], cycle_key=period and period[:16],
        state=state, reason=reason, submission_id=result.submission_id if result else None,
        signature_state=signature.state if state != "refused" else None,
        signature=signature.as_dict() if sorted_.document else None, created_at=utcnow(),
    )
    session.add(parcel)
    session.flush()
    if state != "refused":
        parcel.receipt_number = f"BN{delivery.received_at.astimezone(TZ):%Y}-{parcel.id:06d}"
    kept_roles = ("appendix", "document") if keep else ()
    for line, incoming in _lines_with_files(sorted_):
        limit = MAX_DOCUMENT_BYTES if line.role == "document" else MAX_FILE_BYTES
        kept = line.role in kept_roles and line.size <= limit
        if kept and session.get(StoredFile, line.sha256) is None:
            session.add(StoredFile(sha256=line.sha256, size=line.size, content=incoming.content))
        session.add(ParcelFile(parcel_id=parcel.id, role=line.role, kind=line.kind, name=line.name[:255], size=line.size,
                               sha256=line.sha256, kept=kept, note=line.note))
    session.flush()
    return outcome_of(session, parcel, result=result, signature=signature, policy=policy)


def _lines_with_files(sorted_: Sorted) -> list[tuple[FileLine, IncomingFile]]:
    files = [f for f in (sorted_.appendix, sorted_.document) if f] + [f for f, _ in sorted_.ignored]
    return list(zip(sorted_.lines(), files, strict=True))


def outcome_of(session: Session, parcel: Parcel, *, already: bool = False, result: IngestResult | None = None,
               signature: SignatureCheck | None = None, policy: str | None = None) -> ParcelOutcome:
    """The outcome of a recorded parcel (for a re-pull, a receipt page, the history)."""
    from bhxh.store.models import Submission

    files = [
        FileLine(r.name, r.kind, r.role, r.size, r.sha256, r.note)
        for r in session.scalars(select(ParcelFile).where(ParcelFile.parcel_id == parcel.id).order_by(ParcelFile.id))
    ]
    if signature is None:
        signature = SignatureCheck.from_dict(parcel.signature) if parcel.signature else ABSENT
    if policy is None:
        ob = default_catalogue().obligations.get(parcel.obligation_id or "")
        policy = ob.signature if ob else "recommended"
    if result is None and parcel.submission_id:
        sub = session.get(Submission, parcel.submission_id)
        errors = [Problem(**e) for e in sub.errors or []]
        result = IngestResult(sub.status, sub.unit_id, sub.obligation_id, sub.cycle_key, errors, sub.id, late=sub.late,
                              error_count=sub.error_count or len(errors))
    return ParcelOutcome(
        parcel.id, parcel.state, parcel.received_at, files, signature, policy, result,
        parcel.unit_id, parcel.obligation_id, parcel.cycle_key, parcel.receipt_number, parcel.reason,
        parcel.sender, parcel.sender_verified, already,
    )

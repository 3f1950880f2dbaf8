"""The store's tables: files as received (by checksum), submissions (every version), validation results and
the notification outbox. Every instant is kept in UTC on every database.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """An instant, stored in UTC and read back timezone-aware on every database.

    SQLite keeps no offset: without this a time received at 23:30 in Hà Nội (+07:00) would be stored as
    "23:30" and read back as 23:30 UTC, seven hours late, on the wrong side of a deadline.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps instants, give a timezone")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class StoredFile(Base):
    """The bytes of a file exactly as a unit sent it, kept once per checksum.

    `content` is empty (NULL) for a file refused before it was read, over the size limit: its checksum and
    size are kept, its bytes are not.
    """

    __tablename__ = "stored_files"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class Submission(Base):
    """One version of a unit's report for a cycle ("bản báo cáo"). Every version is kept."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("obligation_id", "cycle_key", "unit_id", "sha256", "document_sha256", name="uq_submission_file"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    obligation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    cycle_key: Mapped[str | None] = mapped_column(String(16), index=True)
    unit_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("stored_files.sha256"))
    original_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # accepted | rejected
    late: Mapped[bool | None] = mapped_column(Boolean)
    data: Mapped[dict | None] = mapped_column(JSON)  # the validated rows, as plain JSON
    errors: Mapped[list | None] = mapped_column(JSON)  # the first MAX_PROBLEMS problems and one that counts the rest
    error_count: Mapped[int | None] = mapped_column(Integer)  # every problem found (NULL before 0003)
    # The signed report sent with the appendix (issue 17, migration 0005): part of what makes a version, so the
    # same appendix sent again with a newly signed document is a new version; "" when none came with it.
    document_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")


class ValidationResult(Base):
    """The outcome of validating a unit's latest submission inside a cycle run (one row per cycle and unit)."""

    __tablename__ = "validation_results"
    __table_args__ = (UniqueConstraint("obligation_id", "cycle_key", "unit_id", name="uq_validation_unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    obligation_id: Mapped[str] = mapped_column(String(64))
    cycle_key: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    state: Mapped[str] = mapped_column(String(16))  # on_time | late | invalid | missing
    errors: Mapped[list | None] = mapped_column(JSON)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A message to send, kept until delivered ("hộp thư đi"). The dedup key makes every send happen once."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(400), unique=True)
    obligation_id: Mapped[str] = mapped_column(String(64))
    cycle_key: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))  # email | chat
    recipient: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    body_format: Mapped[str] = mapped_column(String(8), default="text")
    attachments: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # when a sender took it
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


# -- the units' ways in (issue 17, migration 0005_channels) ---------------------------------------------------
class Parcel(Base):
    """What a unit sent in one go by one channel ("hồ sơ nộp"): a message's attachments, an upload.

    `ref` is the channel's own identity of the delivery (the message's Message-ID, an upload's id): the same
    delivery is recorded once. `state`: stored (its appendix went through the intake: `submission_id`), held
    (from a sender the registry does not know for the unit: kept, not counted), released (held, then let in
    by an operator), refused (nothing usable in it: `reason`). `receipt_number` is the receipt's
    ("giấy biên nhận") number.
    """

    __tablename__ = "parcels"
    __table_args__ = (UniqueConstraint("channel", "ref", name="uq_parcel_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))  # mailbox | portal
    ref: Mapped[str] = mapped_column(String(400))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sender: Mapped[str | None] = mapped_column(String(320))
    sender_verified: Mapped[bool | None] = mapped_column(Boolean)
    unit_id: Mapped[str | None] = mapped_column(String(64), index=True)
    obligation_id: Mapped[str | None] = mapped_column(String(64))
    cycle_key: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # stored | held | released | refused
    reason: Mapped[str | None] = mapped_column(String(64))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    receipt_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    signature_state: Mapped[str | None] = mapped_column(String(16))
    signature: Mapped[dict | None] = mapped_column(JSON)  # the signers found, as plain JSON
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class ParcelFile(Base):
    """One file of a parcel, with the name the sender gave it; the bytes are in stored_files (kept byte for byte)
    unless the parcel was refused (then only its name, size and checksum are kept)."""

    __tablename__ = "parcel_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # appendix | document | ignored
    kind: Mapped[str] = mapped_column(String(8))  # xlsx | csv | pdf | docx | other
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    kept: Mapped[bool] = mapped_column(Boolean)  # the bytes are in stored_files under sha256
    note: Mapped[str | None] = mapped_column(String(64))


class PortalKey(Base):
    """The version of a unit's portal key: a unit's links are signed with a key derived from it, so raising
    the version (rotating the key) revokes every link it was given. No row: version 1."""

    __tablename__ = "portal_keys"

    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    rotated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

"""The submissions store ("kho báo cáo"): SQLAlchemy models for units, submissions (every version, with the
file as received), validation results and the notification outbox. SQLite by default, PostgreSQL alike.

The schema is created and upgraded by Alembic (`bhxh/migrations`); `init_store` runs the upgrade.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

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
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

DEFAULT_URL_ENV = "BHXH_STORE_URL"


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
    """The bytes of a file exactly as a unit sent it, kept once per checksum."""

    __tablename__ = "stored_files"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Submission(Base):
    """One version of a unit's report for a cycle ("bản báo cáo"). Every version is kept."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("obligation_id", "cycle_key", "unit_id", "sha256", name="uq_submission_file"),)

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
    errors: Mapped[list | None] = mapped_column(JSON)


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


def default_url(project_root: Path | None = None) -> str:
    """The store URL: $BHXH_STORE_URL, else a SQLite file under the project's var/ folder."""
    if os.environ.get(DEFAULT_URL_ENV):
        return os.environ[DEFAULT_URL_ENV]
    root = project_root or Path(__file__).resolve().parents[2]
    path = root / "var" / "store.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    url = url or default_url()
    if url not in _ENGINES:
        engine = create_engine(url, future=True, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):  # several Airflow task processes write at once
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

        _ENGINES[url] = engine
    return _ENGINES[url]


def session_factory(url: str | None = None) -> sessionmaker:
    return sessionmaker(get_engine(url), expire_on_commit=False, future=True)


def init_store(url: str | None = None) -> str:
    """Create or upgrade the store's schema to the latest Alembic revision; returns the URL used."""
    from alembic import command
    from alembic.config import Config

    url = url or default_url()
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["engine"] = get_engine(url)
    command.upgrade(cfg, "head")
    return url


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)

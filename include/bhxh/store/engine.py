"""Engines and sessions of the store: SQLite by default (var/store.sqlite), PostgreSQL alike; `init_store` creates
or upgrades the schema with Alembic (`bhxh/store/migrations`).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from sqlalchemy import (
    create_engine,
    event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker

from bhxh import PROJECT_ROOT

DEFAULT_URL_ENV = "BHXH_STORE_URL"

# A store that accepts connections but never answers, or a table locked by someone else, must not hold an
# ingest (or a task) for ever: it gives up well within 10 s and says the store is unavailable. Settings in the
# URL's query (e.g. ?connect_timeout=2) win over these.
CONNECT_TIMEOUT_S = 4  # PostgreSQL: the whole connection set-up, per address tried
STATEMENT_TIMEOUT_MS = 8_000  # PostgreSQL: one statement (server side)
LOCK_TIMEOUT_MS = 5_000  # PostgreSQL: waiting for a lock
SQLITE_BUSY_MS = 5_000  # SQLite: waiting for another writer


def default_url(project_root: Path | None = None) -> str:
    """The store URL: $BHXH_STORE_URL, else a SQLite file under the project's var/ folder."""
    if os.environ.get(DEFAULT_URL_ENV):
        return os.environ[DEFAULT_URL_ENV]
    root = project_root or PROJECT_ROOT
    path = root / "var" / "store.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    url = url or default_url()
    if url not in _ENGINES:
        parsed = make_url(url)
        connect_args: dict = {}
        if parsed.get_backend_name() == "postgresql":
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
            if "options" not in parsed.query:
                connect_args["options"] = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}"
        elif parsed.get_backend_name() == "sqlite" and "timeout" not in parsed.query:
            connect_args["timeout"] = SQLITE_BUSY_MS / 1000
        engine = create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args)
        if engine.dialect.name == "sqlite":

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):  # several Airflow task processes write at once
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
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

"""Reads Airflow connections and settings for the domain package; imported only inside tasks."""

from __future__ import annotations

import os
from pathlib import Path

STORE_CONN_ID = "bhxh_store"
APPRISE_CONN_ID = "bhxh_apprise"
MAILBOX_CONN_ID = "bhxh_mailbox"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def store_url() -> str:
    """The store's SQLAlchemy URL: the `bhxh_store` connection's extra `url`, else $BHXH_STORE_URL, else SQLite."""
    from airflow.sdk import BaseHook

    from bhxh.steps.wiring import default_url

    try:
        conn = BaseHook.get_connection(STORE_CONN_ID)
    except Exception:  # no such connection: fall back to the environment or the embedded default
        return default_url()
    return conn.extra_dejson.get("url") or default_url()


def out_dir() -> Path:
    return Path(os.environ.get("BHXH_OUT_DIR") or PROJECT_ROOT / "out" / "reports")


def channel_urls() -> dict[str, list[str]]:
    """Channel URLs by tag ("email", "chat", ...) from the apprise connection, read through the apprise hook."""
    from airflow.providers.apprise.hooks.apprise import AppriseHook

    from bhxh.steps.wiring import channel_urls_from_config

    hook = AppriseHook(apprise_conn_id=APPRISE_CONN_ID)
    conn = hook.get_connection(APPRISE_CONN_ID)
    return channel_urls_from_config(hook.get_config_from_conn(conn))


def inbox_dirs() -> tuple[Path, Path]:
    """The inbox units' files arrive in ($BHXH_INBOX, default var/inbox) and where ingested files are archived."""
    inbox = Path(os.environ.get("BHXH_INBOX") or PROJECT_ROOT / "var" / "inbox")
    archive = Path(os.environ.get("BHXH_ARCHIVE") or PROJECT_ROOT / "var" / "archive")
    inbox.mkdir(parents=True, exist_ok=True)
    archive.mkdir(parents=True, exist_ok=True)
    return inbox, archive


def mailbox_url() -> str | None:
    """The department's mailbox: the `bhxh_mailbox` connection (type imap: host, port, login, password, schema =
    folder; extra use_ssl, starttls, processed, cafile), else $BHXH_IMAP_URL, else None (no mailbox to pull)."""
    from airflow.sdk import BaseHook

    from bhxh.steps.mailbox import url_from_connection

    try:
        conn = BaseHook.get_connection(MAILBOX_CONN_ID)
    except Exception:  # no such connection: the environment, or no mailbox at all
        return os.environ.get("BHXH_IMAP_URL") or None
    return url_from_connection(conn.host, conn.port, conn.login, conn.password, conn.schema, conn.extra_dejson)

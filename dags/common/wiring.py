"""Reads Airflow connections and settings for the domain package; imported only inside tasks."""

from __future__ import annotations

import os
from pathlib import Path

STORE_CONN_ID = "bhxh_store"
APPRISE_CONN_ID = "bhxh_apprise"
ISSUER_CONN_ID = "bhxh_issuer"
SIGNING_CONN_ID = "bhxh_signing"
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


def inbox_dirs() -> tuple[Path, Path, Path]:
    """The inbox units' files arrive in ($BHXH_INBOX, default var/inbox), where ingested files are archived
    ($BHXH_ARCHIVE, var/archive) and where files that cannot be taken are set aside ($BHXH_QUARANTINE,
    var/quarantine)."""
    inbox = Path(os.environ.get("BHXH_INBOX") or PROJECT_ROOT / "var" / "inbox")
    archive = Path(os.environ.get("BHXH_ARCHIVE") or PROJECT_ROOT / "var" / "archive")
    quarantine = Path(os.environ.get("BHXH_QUARANTINE") or PROJECT_ROOT / "var" / "quarantine")
    for folder in (inbox, archive, quarantine):
        folder.mkdir(parents=True, exist_ok=True)
    return inbox, archive, quarantine


def document_settings(department: str) -> dict:
    """What the consolidated documents take from the department (README, "Documents"): the `bhxh_issuer`
    connection's extra (issuer, signer, document numbers, keyed by unit id) and its certificate, the connection
    `bhxh_signing_<department>` else `bhxh_signing` (PKCS#12 as extra `p12_base64` or `p12_path`, the passphrase
    as the password). Without them: the data file's defaults and an unsigned PDF."""
    from airflow.sdk import BaseHook

    def connection(conn_id: str):
        try:
            return BaseHook.get_connection(conn_id)
        except Exception:  # no such connection
            return None

    issuer = connection(ISSUER_CONN_ID)
    signing = connection(f"{SIGNING_CONN_ID}_{department}") or connection(SIGNING_CONN_ID)
    settings: dict = {"issuer": issuer.extra_dejson if issuer else {}, "signing": None}
    if signing is not None:
        extra = signing.extra_dejson
        settings["signing"] = {"p12_base64": extra.get("p12_base64"), "p12_path": extra.get("p12_path"), "passphrase": signing.password}
    return settings


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

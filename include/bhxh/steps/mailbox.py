"""The intake DAG's mailbox step ("nhận báo cáo qua thư điện tử"): pull the department's mailbox and queue the
answer to each message in the same transaction as its parcel. Also what `make pull-mail` runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from sqlalchemy.orm import Session

from bhxh.calendar.catalogue import default_catalogue
from bhxh.calendar.units import default_registry
from bhxh.intake.mail import Mail
from bhxh.intake.mailbox import MailboxSettings, PullRun, pull
from bhxh.intake.parcels import ParcelOutcome
from bhxh.intake.signatures import TrustRoots
from bhxh.notify.outbox import enqueue
from bhxh.steps.receipts import DEFAULT_DEPARTMENT, parcel_messages
from bhxh.store.engine import init_store, session_factory


def url_from_connection(host: str | None, port: int | None, login: str | None, password: str | None,
                        schema: str | None, extra: dict) -> str:
    """An Airflow `imap` connection as the mailbox URL: TLS unless extra `use_ssl` is false (the IMAP provider's
    own convention), then STARTTLS unless extra `starttls` is false; `schema` (or extra `folder`) is the folder;
    extra `processed` and `cafile` as in the URL."""
    from urllib.parse import quote, urlencode

    tls = str(extra.get("use_ssl", True)).lower() not in ("false", "0", "no")
    query = {k: str(extra[k]) for k in ("processed", "cafile") if extra.get(k)}
    if not tls:
        query["starttls"] = "0" if str(extra.get("starttls", True)).lower() in ("false", "0", "no") else "1"
    folder = schema or extra.get("folder") or "INBOX"
    auth = f"{quote(login or '', safe='')}:{quote(password or '', safe='')}@"
    netloc = f"{host}:{port}" if port else str(host)
    return f"{'imaps' if tls else 'imap'}://{auth}{netloc}/{quote(folder)}" + (f"?{urlencode(query)}" if query else "")


def answer_with(department_id: str) -> Callable[[Session, ParcelOutcome, Mail], int]:
    catalogue, registry = default_catalogue(), default_registry()

    def answer(session: Session, outcome: ParcelOutcome, _mail: Mail) -> int:
        return enqueue(session, parcel_messages(outcome, catalogue=catalogue, registry=registry, department_id=department_id))

    return answer


def run_pull(url: str, store_url: str, progress: Callable[[int, int], None] | None = None) -> PullRun:
    """One pull of the mailbox at `url` into the store; answers queued with their parcels."""
    settings = MailboxSettings.from_url(url)
    init_store(store_url)
    return pull(
        settings, session_factory(store_url), roots=TrustRoots().get(), registry=default_registry(),
        answer=answer_with(os.environ.get("BHXH_MAILBOX_DEPARTMENT") or DEFAULT_DEPARTMENT),
        authserv_id=os.environ.get("BHXH_MAIL_AUTHSERV_ID") or None, progress=progress,
    )


def pull_mailbox(url: str | None, store_url: str) -> tuple[dict, str]:
    """The intake DAG's task: (its summary, its log line); raises when the mailbox or the store is unavailable,
    after keeping what was already committed (the task retries; nothing is stored or answered twice)."""
    if not url:
        return {"configured": False}, "Chưa cấu hình hộp thư (bhxh_mailbox / BHXH_IMAP_URL) / no mailbox configured"
    run = run_pull(url, store_url)
    summary = summarise(run)
    line = (f"Hộp thư: {summary['messages']} thư, {summary['stored']} hồ sơ vào kho, {summary['held']} lưu giữ, "
            f"{summary['refused']} không hợp lệ, {summary['already']} đã nhận trước ({run.seconds} s)")
    if run.unavailable:
        raise RuntimeError(f"Hộp thư hoặc kho báo cáo không truy cập được / mailbox or store unavailable: {run.mailbox_error or run.store_error}")
    return summary, line


def summarise(run: PullRun) -> dict:
    states = [p.outcome.state for p in run.pulled if not p.outcome.already]
    return {
        "messages": len(run.pulled),
        "stored": states.count("stored"),
        "held": states.count("held"),
        "refused": states.count("refused"),
        "already": sum(1 for p in run.pulled if p.outcome.already),
        "moved": run.moved,
        "accepted": sum(1 for p in run.pulled if p.outcome.accepted and not p.outcome.already),
        "mailbox_error": run.mailbox_error,
        "store_error": run.store_error,
        "seconds": run.seconds,
    }

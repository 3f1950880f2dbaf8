"""The intake DAG's step ("tiếp nhận báo cáo"): ingest the inbox and queue each unit's answer."""

from __future__ import annotations

from pathlib import Path

from bhxh.intake.inbox import ingest_inbox as run
from bhxh.notify.outbox import enqueue
from bhxh.steps.messages import intake_messages
from bhxh.store.engine import init_store, session_factory


def ingest_inbox(inbox: Path, archive: Path, store_url: str) -> tuple[dict, str]:
    """Store every stable file of the inbox with its checksum and queue the answers; leave every file in the inbox
    and raise when the store is down. Returns (the run's summary, its log line)."""
    init_store(store_url)
    maker = session_factory(store_url)
    result = run(inbox, maker, archive)
    results = [r for _path, r in result.ingested]
    with maker() as session, session.begin():
        queued = enqueue(session, intake_messages(results))
    if result.store_error:
        raise RuntimeError(f"Kho báo cáo không truy cập được / store unavailable: {result.store_error}")
    line = f"Đã tiếp nhận {len(results)} tệp; chưa ổn định {len(result.unstable)}; lỗi đọc {len(result.failed)}"
    return {"ingested": len(results), "queued": queued, "unstable": result.unstable}, line

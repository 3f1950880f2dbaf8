"""The intake DAG's step ("tiếp nhận báo cáo"): ingest the inbox and queue each unit's answer."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from bhxh.intake.inbox import ingest_inbox as run
from bhxh.intake.inbox import note_arrivals
from bhxh.intake.submission import IngestResult
from bhxh.notify.outbox import enqueue
from bhxh.steps.messages import intake_messages
from bhxh.store.engine import init_store, session_factory


def answer(session: Session, result: IngestResult) -> int:
    """Queue the answer to the unit that sent a file, in the transaction that stores the file (so a store
    failure leaves neither, never a stored file that is not answered). Returns how many messages were new."""
    return enqueue(session, intake_messages([result]))


def ingest_inbox(inbox: Path, archive: Path, quarantine: Path, store_url: str) -> tuple[dict, str]:
    """Store every quiet file of the inbox with its checksum, each with its answer; set aside what cannot be
    taken; leave every file in the inbox and raise when the store is down. Returns (the run's summary, its log line)."""
    note_arrivals(inbox, quarantine)  # the time a file came is ours even while the store is down
    init_store(store_url)
    maker = session_factory(store_url)
    queued = 0

    def answered(session: Session, result: IngestResult) -> None:
        nonlocal queued
        queued += answer(session, result)

    result = run(inbox, maker, archive, quarantine=quarantine, answer=answered, settle=True)
    if result.store_error:
        raise RuntimeError(f"Kho báo cáo không truy cập được / store unavailable: {result.store_error}")
    results = [r for _path, r in result.ingested]
    line = (f"Đã tiếp nhận {len(results)} tệp; chờ ổn định {len(result.waiting)}; thay đổi khi đọc {len(result.unstable)}; "
            f"cách ly {len(result.quarantined)}; lỗi {len(result.failed)}")
    summary = {"ingested": len(results), "queued": queued, "unstable": result.unstable, "waiting": result.waiting,
               "quarantined": [name for name, _code in result.quarantined]}
    return summary, line

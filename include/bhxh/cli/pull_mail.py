"""Pull the department's mailbox by hand (`make pull-mail`), as the intake DAG does every 10 minutes:

    python -m bhxh.cli.pull_mail [--url imaps://user:password@host:993/INBOX]     (default: $BHXH_IMAP_URL)
    python -m bhxh.cli.pull_mail --release PARCEL_ID                              (let a held parcel in)

Prints ONE JSON object per attachment: the fields of `make ingest` (status, unit, obligation, period, errors,
submission_id, duplicate, late, file) plus message_id, from, sender_verified, and role (appendix | document |
ignored), parcel (stored | held | refused | already), receipt_number and signature; a message with no
attachment gives one object with file null. Then a final summary line {"summary": {...}}.

Exit codes: 0 done (whatever the files' verdicts), 2 usage error (no mailbox address), 3 the mailbox or the
store is unavailable (what was committed before stays committed; the next pull goes on from there).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

EXIT_DONE, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 2, 3


def _emit(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def lines_of(pulled) -> list[dict]:
    """One object per attachment of a pulled message (one with file null if it had none)."""
    outcome, mail = pulled.outcome, pulled.mail
    result = outcome.result
    base = {
        "status": (result.status if result else outcome.state) if not outcome.already else "already",
        "unit": outcome.unit_id, "obligation": outcome.obligation_id, "period": outcome.cycle_key,
        "errors": [e.as_dict() for e in result.errors] if result else [],
        "submission_id": result.submission_id if result else None,
        "duplicate": bool(result.duplicate) if result else False, "late": result.late if result else None,
        "message_id": mail.message_id, "from": mail.sender, "sender_verified": outcome.sender_verified,
        "parcel": "already" if outcome.already else outcome.state, "reason": outcome.reason,
        "receipt_number": outcome.receipt_number,
    }
    if not outcome.files:
        return [{**base, "file": None, "role": None}]
    out = []
    for f in outcome.files:
        line = {**base, "file": f.name, "role": f.role, "size": f.size, "sha256": f.sha256}
        if f.role == "document":
            signer = outcome.signature.signer
            line["signature"] = {"state": outcome.signature.state, "policy": outcome.policy, "signer": signer.name if signer else None}
        if f.role == "ignored":
            line |= {"status": "ignored", "errors": [], "note": f.note}
        out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bhxh.cli.pull_mail", description="Nhận báo cáo từ hộp thư / Pull the report mailbox")
    parser.add_argument("--url", help="imap(s)://user:password@host:port/INBOX (default $BHXH_IMAP_URL)")
    parser.add_argument("--release", type=int, metavar="PARCEL_ID", help="let a held parcel into the intake")
    args = parser.parse_args(argv)

    from sqlalchemy.exc import SQLAlchemyError

    from bhxh.intake.mailbox import MailboxError
    from bhxh.store.engine import default_url, init_store

    store = default_url()
    if args.release is not None:
        return _release(args.release, store)
    url = args.url or os.environ.get("BHXH_IMAP_URL")
    if not url:
        parser.error("no mailbox: give --url or set BHXH_IMAP_URL (make pull-mail BHXH_IMAP_URL=imaps://...)")
    from bhxh.steps.mailbox import run_pull, summarise

    try:
        init_store(store)
        run = run_pull(url, store, progress=lambda i, n: sys.stderr.write(f"\r{i}/{n} thư / messages") if sys.stderr.isatty() else None)
    except MailboxError as exc:
        _emit({"summary": {"messages": 0, "mailbox_error": exc.message_en, "store_error": None}})
        return EXIT_UNAVAILABLE if exc.code != "mailbox_url" else EXIT_USAGE
    except (SQLAlchemyError, OSError) as exc:
        _emit({"summary": {"messages": 0, "mailbox_error": None, "store_error": f"{type(exc).__name__}"}})
        return EXIT_UNAVAILABLE
    for pulled in run.pulled:
        for line in lines_of(pulled):
            _emit(line)
    _emit({"summary": summarise(run)})
    return EXIT_UNAVAILABLE if run.unavailable else EXIT_DONE


def _release(parcel_id: int, store: str) -> int:
    from bhxh.calendar.catalogue import default_catalogue
    from bhxh.calendar.units import default_registry
    from bhxh.intake.parcels import release
    from bhxh.intake.signatures import TrustRoots
    from bhxh.notify.outbox import enqueue
    from bhxh.steps.receipts import parcel_messages
    from bhxh.store.engine import init_store, session_factory

    init_store(store)
    try:
        with session_factory(store)() as session, session.begin():
            outcome = release(session, parcel_id, roots=TrustRoots().get())
            queued = enqueue(session, parcel_messages(outcome, catalogue=default_catalogue(), registry=default_registry()))
    except ValueError as exc:
        _emit({"status": "error", "message_vi": f"Hồ sơ {parcel_id} không ở trạng thái lưu giữ.", "message_en": str(exc)})
        return EXIT_USAGE
    _emit({**outcome.as_dict(), "queued": queued})
    return EXIT_DONE


if __name__ == "__main__":
    sys.exit(main())

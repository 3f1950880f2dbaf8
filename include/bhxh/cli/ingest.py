"""Ingest one report file by hand (`make ingest FILE=path`):

    python -m bhxh.cli.ingest FILE [--received-at ISO]

The file is checked and kept in the store ($BHXH_STORE_URL, else the SQLite file in var/) like any file from
the inbox, and ONE JSON object is printed: status (accepted | rejected), unit, obligation, period, errors
(each with row, column, code, message_vi, message_en, sheet), plus submission_id, duplicate and late.

Exit codes: 0 accepted, 1 rejected (bad input, including a missing or unreadable file), 2 usage error,
3 the store is unavailable (nothing was recorded; the JSON says why). Never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from bhxh.calendar.cycles import TZ

EXIT_ACCEPTED, EXIT_REJECTED, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3


def _emit(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")


def _rejection(path: Path, code: str, vi: str, en: str) -> dict:
    return {
        "status": "rejected", "unit": None, "obligation": None, "period": None, "file": str(path),
        "errors": [{"row": None, "column": None, "sheet": None, "code": code, "message_vi": vi, "message_en": en}],
    }


def _received_at(text: str | None) -> dt.datetime:
    if not text:
        return dt.datetime.now(dt.UTC)
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=TZ)  # a bare time is Vietnam time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bhxh.cli.ingest", description="Tiếp nhận một tệp báo cáo / Ingest one report file")
    parser.add_argument("file", type=Path, help="XLSX or CSV report file")
    parser.add_argument("--received-at", help="ISO time it was received (default: now; without a zone: Asia/Ho_Chi_Minh)")
    args = parser.parse_args(argv)  # exits 2 on usage errors
    try:
        received = _received_at(args.received_at)
    except ValueError:
        parser.error(f"--received-at: not an ISO date-time: {args.received_at!r}")
    path: Path = args.file
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        _emit(_rejection(path, "file_not_found", f"Không tìm thấy tệp '{path}'. Hãy kiểm tra đường dẫn.", f"File '{path}' not found. Check the path."))
        return EXIT_REJECTED
    except IsADirectoryError:
        _emit(_rejection(path, "not_a_file", f"'{path}' là thư mục, không phải tệp.", f"'{path}' is a folder, not a file."))
        return EXIT_REJECTED
    except OSError as exc:
        _emit(_rejection(path, "unreadable_file", f"Không đọc được tệp '{path}' ({exc.strerror or type(exc).__name__}).", f"Cannot read '{path}' ({exc.strerror or type(exc).__name__})."))
        return EXIT_REJECTED

    from sqlalchemy.exc import SQLAlchemyError

    from bhxh.intake.submission import ingest
    from bhxh.store.engine import default_url, init_store, session_factory

    url = default_url()
    try:
        init_store(url)
        with session_factory(url)() as session, session.begin():
            result = ingest(session, content, path.name, received)
    except (SQLAlchemyError, OSError) as exc:
        payload = _rejection(path, "store_unavailable", f"Kho báo cáo không sẵn sàng, tệp chưa được ghi nhận ({type(exc).__name__}). Hãy thử lại sau.",
                             f"The store is unavailable; the file was not recorded ({type(exc).__name__}). Try again later.")
        payload["status"] = "error"
        _emit(payload)
        sys.stderr.write(f"store unavailable: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}\n")
        return EXIT_STORE
    _emit({**result.as_json(), "file": str(path)})
    return EXIT_ACCEPTED if result.status == "accepted" else EXIT_REJECTED


if __name__ == "__main__":
    sys.exit(main())

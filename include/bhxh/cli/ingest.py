"""Ingest one report file by hand (`make ingest FILE=path`):

    python -m bhxh.cli.ingest FILE [--received-at ISO]

The file is checked and kept in the store ($BHXH_STORE_URL, else the SQLite file in var/) like any file from
the inbox, its answer to the unit queued in the same transaction, and ONE JSON object is printed: status
(accepted | rejected), unit, obligation, period, errors (each with row, column, code, message_vi, message_en,
sheet; at most MAX_PROBLEMS and one that counts the rest), error_count, plus submission_id, duplicate and late.

The file is opened as the inbox opens it: a symbolic link or anything but a regular file is refused, never
followed; a file over the size limit is not read (its name, size, checksum and refusal are kept).

Exit codes: 0 accepted, 1 rejected (bad input, including a missing or unreadable file), 2 usage error,
3 the store is unavailable (nothing was recorded; the JSON says why; a store that does not answer is given up
within seconds, see bhxh.store.engine). Never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from bhxh.calendar.cycles import TZ

EXIT_ACCEPTED, EXIT_REJECTED, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3
FILE_ENV = "BHXH_INGEST_FILE"  # how `make ingest` hands the file name over: never through a shell's command line


def _emit(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")


def _shown(path: Path) -> str:
    """The path as the JSON shows it (a name that is not valid UTF-8 with its undecodable bytes escaped)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _rejection(path: Path, problem) -> dict:
    return {
        "status": "rejected", "unit": None, "obligation": None, "period": None, "file": _shown(path),
        "errors": [{"row": problem.row, "column": problem.column, "sheet": problem.sheet, "code": problem.code,
                    "message_vi": problem.message_vi, "message_en": problem.message_en}],
        "error_count": 1,
    }


def _received_at(text: str | None) -> dt.datetime:
    if not text:
        return dt.datetime.now(dt.UTC)
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=TZ)  # a bare time is Vietnam time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bhxh.cli.ingest", description="Tiếp nhận một tệp báo cáo / Ingest one report file")
    parser.add_argument("file", type=Path, nargs="?", help=f"XLSX or CSV report file (or ${FILE_ENV})")
    parser.add_argument("--received-at", help="ISO time it was received (default: now; without a zone: Asia/Ho_Chi_Minh)")
    args = parser.parse_args(argv)  # exits 2 on usage errors
    path: Path | None = args.file or (Path(os.environ[FILE_ENV]) if os.environ.get(FILE_ENV) else None)
    if path is None:
        parser.error(f"thiếu tệp / no file given: python -m bhxh.cli.ingest FILE, or make ingest FILE=path (${FILE_ENV})")
    try:
        received = _received_at(args.received_at)
    except ValueError:
        parser.error(f"--received-at: not an ISO date-time: {args.received_at!r}")

    from bhxh.intake.files import FileRefused, name_problem, read_file
    from bhxh.intake.problems import problem

    name = path.name
    bad_name = name_problem(name)
    if bad_name is not None:
        _emit(_rejection(path, bad_name))
        return EXIT_REJECTED
    try:
        read = read_file(path)
    except FileNotFoundError:
        _emit(_rejection(path, problem("file_not_found", f"Không tìm thấy tệp '{_shown(path)}'. Hãy kiểm tra đường dẫn.", f"File '{_shown(path)}' not found. Check the path.")))
        return EXIT_REJECTED
    except FileRefused as exc:
        _emit(_rejection(path, exc.problem))
        return EXIT_REJECTED

    from sqlalchemy.exc import SQLAlchemyError

    from bhxh.intake.reading import too_large
    from bhxh.intake.submission import ingest, ingest_refused
    from bhxh.steps.intake import answer
    from bhxh.store.engine import default_url, init_store, session_factory

    url = default_url()
    try:
        init_store(url)
        with session_factory(url)() as session, session.begin():
            if read.too_large:
                result = ingest_refused(session, name, read.size, read.sha256, received, too_large(read.size))
            else:
                result = ingest(session, read.content, name, received)
            answer(session, result)
    except (SQLAlchemyError, OSError) as exc:
        payload = _rejection(path, problem(
            "store_unavailable", f"Kho báo cáo không sẵn sàng, tệp chưa được ghi nhận ({type(exc).__name__}). Hãy thử lại sau.",
            f"The store is unavailable; the file was not recorded ({type(exc).__name__}). Try again later."))
        payload["status"] = "error"
        _emit(payload)
        sys.stderr.write(f"store unavailable: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}\n")
        return EXIT_STORE
    _emit({**result.as_json(), "file": _shown(path)})
    return EXIT_ACCEPTED if result.status == "accepted" else EXIT_REJECTED


if __name__ == "__main__":
    sys.exit(main())

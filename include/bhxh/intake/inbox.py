"""The inbox ("hộp thư đến"): every file dropped in a folder is ingested, then moved to archive/<yyyy-mm-dd>/.

Plain Python, called by the intake DAG. Guarantees:
- a file leaves the inbox only after the store committed it (if the store is unavailable, it stays, and the
  next run takes it again; re-ingesting is idempotent because the same file is recognised by its checksum);
- each file's bytes are read once; the file is stat-ed before and after reading, and if its size or mtime
  changed (a unit's upload still being written, or a file replaced mid-read), it is left for the next run;
- the time received is the file's modification time (when it arrived in the inbox), so a re-run gives the
  same on-time/late decision;
- partial uploads and editor lock files (names starting with '.' or '~$', ending in .part/.tmp/.crdownload)
  are ignored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bhxh.calendar.cycles import TZ
from bhxh.intake.submission import IngestResult, ingest, sha256

IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


@dataclass
class InboxRun:
    """What one pass over the inbox did."""

    ingested: list[tuple[str, IngestResult]] = field(default_factory=list)  # (archived path, result)
    unstable: list[str] = field(default_factory=list)  # changed while read: left for the next run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why) left in the inbox
    store_error: str | None = None  # the store was unavailable: the run stopped early


def _candidates(inbox: Path) -> list[Path]:
    if not inbox.is_dir():
        return []
    return sorted(
        p for p in inbox.iterdir()
        if p.is_file() and not p.name.startswith(IGNORED_PREFIXES) and not p.name.lower().endswith(IGNORED_SUFFIXES)
    )


def _read_stable(path: Path) -> tuple[bytes, os.stat_result] | None:
    """The file's bytes, read once, if the file did not change while it was read; else None."""
    before = path.stat()
    with path.open("rb") as fh:
        content = fh.read()
    after = path.stat()
    same = (before.st_size, before.st_mtime_ns, before.st_ino) == (after.st_size, after.st_mtime_ns, after.st_ino)
    if not same or len(content) != after.st_size:
        return None
    return content, after


def _archive_target(archive: Path, received: dt.datetime, name: str, digest: str) -> Path:
    folder = archive / f"{received.astimezone(TZ):%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists():  # the same name arrived twice that day: keep both, told apart by checksum
        target = folder / f"{Path(name).stem}.{digest[:12]}{Path(name).suffix}"
    return target


def ingest_inbox(inbox: Path, session_maker: sessionmaker, archive: Path) -> InboxRun:
    """Ingest every stable file of `inbox` (one transaction each), moving it to archive/<yyyy-mm-dd>/ once committed."""
    run = InboxRun()
    for path in _candidates(inbox):
        try:
            read = _read_stable(path)
        except FileNotFoundError:
            continue  # taken away meanwhile (another worker archived it)
        except OSError as exc:
            run.failed.append((path.name, f"{type(exc).__name__}: {exc.strerror or exc}"))
            continue
        if read is None:
            run.unstable.append(path.name)
            continue
        content, stat = read
        received = dt.datetime.fromtimestamp(stat.st_mtime_ns / 1e9, tz=dt.UTC)
        try:
            with session_maker() as session, session.begin():
                result = ingest(session, content, path.name, received)
        except SQLAlchemyError as exc:
            run.store_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            break  # the store is down: leave this file and the rest for the next run
        target = _archive_target(archive, received, path.name, sha256(content))
        with contextlib.suppress(FileNotFoundError):  # already moved by a concurrent run; stored once either way
            shutil.move(str(path), str(target))
        run.ingested.append((str(target), result))
    return run

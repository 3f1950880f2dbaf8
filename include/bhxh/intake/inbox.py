"""The inbox ("hộp thư đến"): every file dropped in a folder is ingested, then moved to archive/<yyyy-mm-dd>/.

Plain Python, called by the intake DAG. Guarantees:
- one file never stops the others: a name that is not valid UTF-8, holds a line break or is too long for its
  archive copy, a symbolic link, anything but a regular file with one name, an unreadable file, or anything
  else that goes wrong with it, sets that file aside in the quarantine folder (a reason file beside it) and
  the run goes on; links are moved, never followed;
- the time received is when our side first saw the file in the state it is taken in, kept in a ledger of our
  own (`<quarantine>/.first_seen.json`, surviving restarts), never the file's modification time (a sender sets
  that with `scp -p` or `rsync -t`);
- a file is taken only once it has stayed the same (size, inode, change times) for the quiet period
  ($BHXH_INBOX_QUIET_SECONDS, default 60): an upload paused half-way is not judged; a file that changes while
  it is read is left for the next run;
- a file over the size limit is not read into memory: its name, size, checksum and refusal go to the store,
  and it is removed from the inbox (its content is not kept);
- a file leaves the inbox only after the store committed it together with the answer to its unit (the
  `answer` callback runs in the same transaction); if the store is unavailable the run stops, every file
  stays, and the next run takes it again (re-ingesting is idempotent: the same file is recognised by checksum);
- partial uploads and editor lock files (names starting with '.' or '~$', ending in .part/.tmp/.crdownload)
  are left alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bhxh.calendar.cycles import TZ
from bhxh.intake.files import FileRefused, kind_problem, name_problem, open_regular, read_bounded
from bhxh.intake.problems import Problem, problem, short
from bhxh.intake.reading import too_large
from bhxh.intake.submission import IngestResult, ingest, ingest_refused
from bhxh.templating import render

IGNORED_PREFIXES = (".", "~$")
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")
QUIET_ENV = "BHXH_INBOX_QUIET_SECONDS"
DEFAULT_QUIET_SECONDS = 60
MAX_FILES_PER_RUN = 500  # files read and stored in one run (a flood is worked through over several)
LEDGER_NAME = ".first_seen.json"
LOCK_NAME = ".inbox.lock"

Answer = Callable[[Session, IngestResult], object]


@dataclass
class InboxRun:
    """What one pass over the inbox did."""

    ingested: list[tuple[str, IngestResult]] = field(default_factory=list)  # (archived path, result)
    unstable: list[str] = field(default_factory=list)  # changed while read: left for the next run
    waiting: list[str] = field(default_factory=list)  # not quiet for long enough yet: left for the next run
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (name as set aside, reason code)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why) left in the inbox
    store_error: str | None = None  # the store was unavailable: the run stopped early
    busy: bool = False  # another run held the inbox: this one did nothing


def quiet_seconds() -> float:
    """The quiet period: $BHXH_INBOX_QUIET_SECONDS, default 60."""
    try:
        return max(0.0, float(os.environ.get(QUIET_ENV) or DEFAULT_QUIET_SECONDS))
    except ValueError:
        return float(DEFAULT_QUIET_SECONDS)


def default_quarantine(archive: Path) -> Path:
    return archive.parent / "quarantine"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- the ledger of first sightings ---------------------------------------------------------------------------
def _key(name: str) -> str:
    return os.fsencode(name).hex()


def _signature(st: os.stat_result) -> list[int]:
    """What must stay the same for a file to be quiet (change detection only: no time here is ever a receipt)."""
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class _Ledger:
    """First-seen times of the files in the inbox, by name and signature, in a JSON file of our own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict[str, dict] = json.loads(path.read_text(encoding="utf-8")).get("files", {})
        except (OSError, ValueError, AttributeError):  # none yet, or unreadable: every file is seen anew
            self.entries = {}

    def see(self, name: str, st: os.stat_result, now: dt.datetime) -> dt.datetime:
        """When the file was first seen as it is now (now, if it is new or changed)."""
        key, sig = _key(name), _signature(st)
        entry = self.entries.get(key)
        if entry is None or entry.get("sig") != sig:
            entry = self.entries[key] = {"sig": sig, "first_seen": now.isoformat()}
        return dt.datetime.fromisoformat(entry["first_seen"])

    def forget(self, name: str) -> None:
        self.entries.pop(_key(name), None)

    def keep_only(self, names: set[str]) -> None:
        keys = {_key(n) for n in names}
        self.entries = {k: v for k, v in self.entries.items() if k in keys}

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"version": 1, "files": self.entries}), encoding="utf-8")
        os.replace(tmp, self.path)


@dataclass
class _Seen:
    name: str
    path: Path
    st: os.stat_result
    first_seen: dt.datetime


def _listing(inbox: Path) -> list[os.DirEntry]:
    if not inbox.is_dir():
        return []
    with os.scandir(inbox) as it:
        entries = [e for e in it if not e.name.startswith(IGNORED_PREFIXES) and not e.name.lower().endswith(IGNORED_SUFFIXES)]
    return sorted(entries, key=lambda e: os.fsencode(e.name))


def _scan(inbox: Path, quarantine: Path, ledger: _Ledger, run: InboxRun, now: dt.datetime) -> list[_Seen]:
    """Lstat every candidate, note when it was first seen, and set aside at once what can never be taken."""
    seen: list[_Seen] = []
    present: set[str] = set()
    for entry in _listing(inbox):
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(st.st_mode):
            continue  # a folder is someone's structure, not a report: left alone
        present.add(entry.name)
        first = ledger.see(entry.name, st, now)
        reason = name_problem(entry.name) or kind_problem(st, entry.name)
        if reason is not None:
            _set_aside(Path(entry.path), entry.name, st, first, reason, quarantine, run)
            ledger.forget(entry.name)
            continue
        seen.append(_Seen(entry.name, Path(entry.path), st, first))
    ledger.keep_only(present)
    return seen


def note_arrivals(inbox: Path, quarantine: Path, *, now: Callable[[], dt.datetime] = _now) -> None:
    """Record when each file of the inbox was first seen, without ingesting anything (the intake does this
    even when the store is down, so a file that came on time keeps its time)."""
    quarantine.mkdir(parents=True, exist_ok=True)
    with _locked(quarantine) as held:
        if held:
            ledger = _Ledger(quarantine / LEDGER_NAME)
            _scan(inbox, quarantine, ledger, InboxRun(), now())
            ledger.save()


@contextlib.contextmanager
def _locked(quarantine: Path):
    with open(quarantine / LOCK_NAME, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# -- one pass ------------------------------------------------------------------------------------------------
def ingest_inbox(
    inbox: Path,
    session_maker: sessionmaker,
    archive: Path,
    *,
    quarantine: Path | None = None,
    quiet: float | None = None,
    answer: Answer | None = None,
    settle: bool = False,
    now: Callable[[], dt.datetime] = _now,
) -> InboxRun:
    """Ingest every quiet file of `inbox` (one transaction each, with its answer), moving it to
    archive/<yyyy-mm-dd>/ once committed; set aside in `quarantine` what cannot be taken.

    `settle`: when files are waiting for their quiet period, wait for it once within this run (at most `quiet`
    seconds) instead of leaving them all to the next run.
    """
    quarantine = quarantine or default_quarantine(archive)
    quiet = quiet_seconds() if quiet is None else quiet
    quarantine.mkdir(parents=True, exist_ok=True)
    run = InboxRun()
    with _locked(quarantine) as held:
        if not held:
            run.busy = True
            return run
        ledger = _Ledger(quarantine / LEDGER_NAME)
        try:
            ready, waiting = _quiet_files(_scan(inbox, quarantine, ledger, run, now()), quiet, now())
            if settle and waiting:
                time.sleep(max(0.0, min(quiet, max(quiet - (now() - w.first_seen).total_seconds() for w in waiting))))
                again = {s.name: s for s in _scan(inbox, quarantine, ledger, run, now())}
                more, waiting = _quiet_files([again[w.name] for w in waiting if w.name in again], quiet, now())
                ready += more
            run.waiting = [w.name for w in waiting]
        finally:
            ledger.save()
        try:
            # every file's first sighting is noted above; a flood is worked through a few hundred a run
            run.waiting += [item.name for item in ready[MAX_FILES_PER_RUN:]]
            for item in ready[:MAX_FILES_PER_RUN]:
                if not _take(item, session_maker, archive, quarantine, answer, ledger, run):
                    break
        finally:
            ledger.save()
    return run


def _quiet_files(seen: list[_Seen], quiet: float, now: dt.datetime) -> tuple[list[_Seen], list[_Seen]]:
    ready = [s for s in seen if (now - s.first_seen).total_seconds() >= quiet]
    return ready, [s for s in seen if s not in ready]


def _take(item: _Seen, session_maker, archive: Path, quarantine: Path, answer: Answer | None, ledger: _Ledger, run: InboxRun) -> bool:
    """Read, store (with the answer) and archive one file; False when the store is down (stop the run)."""
    try:
        fd = open_regular(item.path)
    except FileNotFoundError:
        ledger.forget(item.name)
        return True  # taken away meanwhile (another worker archived it)
    except FileRefused as exc:
        _set_aside(item.path, item.name, item.st, item.first_seen, exc.problem, quarantine, run)
        ledger.forget(item.name)
        return True
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (item.st.st_dev, item.st.st_ino):
            run.unstable.append(item.name)  # replaced since it was seen: its quiet period starts again
            ledger.forget(item.name)
            return True
        read = read_bounded(fd)
    except OSError as exc:
        os.close(fd)
        _set_aside(item.path, item.name, item.st, item.first_seen, _unreadable(item.name, exc), quarantine, run)
        ledger.forget(item.name)
        return True
    os.close(fd)
    if _signature(read.stat) != _signature(item.st) or (read.content is not None and len(read.content) != read.stat.st_size):
        run.unstable.append(item.name)  # written to while it was read: left for the next run
        ledger.forget(item.name)
        return True
    received = item.first_seen
    try:
        with session_maker() as session, session.begin():
            if read.too_large:
                result = ingest_refused(session, item.name, read.size, read.sha256, received, too_large(read.size))
            else:
                result = ingest(session, read.content, item.name, received)
            if answer is not None:
                answer(session, result)
    except SQLAlchemyError as exc:
        run.store_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return False  # the store is down: leave this file and the rest for the next run
    except Exception as exc:  # anything else about this one file: set it aside, go on with the others
        reason = problem(
            "intake_error",
            f"Lỗi khi tiếp nhận tệp ({type(exc).__name__}: {short(exc)}); tệp chưa được ghi nhận. Bộ phận vận hành sẽ kiểm tra.",
            f"The intake failed on this file ({type(exc).__name__}: {short(exc)}); it was not recorded. The operators will look into it.",
        )
        _set_aside(item.path, item.name, item.st, item.first_seen, reason, quarantine, run)
        ledger.forget(item.name)
        return True
    ledger.forget(item.name)
    try:
        now_st = os.lstat(item.path)
    except FileNotFoundError:
        return True
    if _signature(now_st) != _signature(item.st):
        return True  # a new version arrived under the same name since it was read: the next run takes it
    if read.too_large:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(item.path)  # refused and recorded; its content is not kept
        run.ingested.append(("", result))
        return True
    target = _archive_target(archive, received, item.name, read.sha256)
    try:
        _move(item.path, target)
    except FileNotFoundError:
        pass  # already moved by a concurrent run; stored once either way
    except OSError as exc:
        run.failed.append((short(item.name), f"archive: {exc.strerror or type(exc).__name__}"))
    run.ingested.append((str(target), result))
    return True


def _move(source: Path, target: Path) -> None:
    """Rename; across file systems, move as shutil does (a link is moved as a link, never followed)."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(str(source), str(target))


def _unreadable(name: str, exc: OSError) -> Problem:
    why = exc.strerror or type(exc).__name__
    return problem("unreadable_file", f"Không đọc được tệp '{short(name)}' ({why}).", f"The file '{short(name)}' cannot be read ({why}).")


def _archive_target(archive: Path, received: dt.datetime, name: str, digest: str) -> Path:
    folder = archive / f"{received.astimezone(TZ):%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if os.path.lexists(target):  # the same name arrived twice that day: keep both, told apart by checksum
        target = folder / f"{Path(name).stem}.{digest[:12]}{Path(name).suffix}"
    return target


# -- quarantine ----------------------------------------------------------------------------------------------
def _safe_name(name: str, when: dt.datetime) -> str:
    """A name for the quarantined copy that is always valid: the time, a hash of the original name's bytes and
    its printable ASCII letters (never its control characters or undecodable bytes)."""
    raw = os.fsencode(name)
    letters = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in name)[:80]
    return f"{when:%Y%m%dT%H%M%S}_{hashlib.sha256(raw).hexdigest()[:12]}_{letters}"


def _set_aside(path: Path, name: str, st: os.stat_result, first_seen: dt.datetime, reason: Problem, quarantine: Path, run: InboxRun) -> None:
    """Move the file (or the link, never what it points to) to the quarantine folder with a reason file."""
    when = _now()
    target = quarantine / _safe_name(name, when)
    n = 1
    while os.path.lexists(target):
        n += 1
        target = quarantine / f"{_safe_name(name, when)}_{n}"
    link = None
    if stat.S_ISLNK(st.st_mode):
        with contextlib.suppress(OSError):
            link = short(os.readlink(path))
    try:
        _move(path, target)
    except FileNotFoundError:
        return
    except OSError as exc:
        run.failed.append((short(name), f"quarantine: {exc.strerror or type(exc).__name__}"))
        return
    kind = ("symbolic link" if stat.S_ISLNK(st.st_mode) else "regular file" if stat.S_ISREG(st.st_mode)
            else "FIFO" if stat.S_ISFIFO(st.st_mode) else "socket" if stat.S_ISSOCK(st.st_mode) else "device or other")
    text = render(
        "intake/quarantined.txt.j2",
        shown_name=short(name), name_hex=os.fsencode(name).hex(), link_target=link, kind=kind,
        size=st.st_size if stat.S_ISREG(st.st_mode) else None, first_seen=first_seen.astimezone(TZ).isoformat(timespec="seconds"),
        quarantined_at=when.astimezone(TZ).isoformat(timespec="seconds"), reason=reason,
    )
    try:
        (quarantine / (target.name + ".reason.txt")).write_text(text, encoding="utf-8", errors="replace")
    except OSError as exc:
        run.failed.append((target.name, f"reason file: {exc.strerror or type(exc).__name__}"))
    run.quarantined.append((target.name, reason.code))

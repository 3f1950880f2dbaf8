"""The hand-ingest CLI (`make ingest`), the templates CLI (`make templates`) and the inbox watcher."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bhxh.calendar.forms import file_name, get_form
from bhxh.cli import ingest as ingest_cli
from bhxh.intake.inbox import ingest_inbox
from bhxh.store.engine import init_store, session_factory
from bhxh.store.models import OutboxMessage, StoredFile, Submission
from bhxh_bench.hostile_files import good_report

ROOT = Path(__file__).resolve().parents[2]
OB, PERIOD, UNIT = "nq51_action_programme", "2019", "bhxh_tinh_yen_bai"
FORM = get_form("nq51_indicators")
VALUES = {"BHXH_BB": 1000, "BHXH_TN": 100, "BHTN": 900, "BHYT": 5000, "BHYT_BAO_PHU": 90.5, "TONG_THU": 1234.5,
          "CHAM_DONG": 12, "GIAO_DICH_DT": 99, "NHIEM_VU_HT": 5, "NHIEM_VU_GIAO": 8}
ERROR_KEYS = {"row", "column", "code", "message_vi", "message_en", "sheet"}


def _report(folder: Path, **values) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return good_report(folder, values={**VALUES, **values})


def _cli(module: str, *args: str, store: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "include")}
    if store is not None:
        env["BHXH_STORE_URL"] = f"sqlite:///{store}"
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def _json(proc: subprocess.CompletedProcess) -> dict:
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout
    payload = json.loads(lines[0])
    assert {"status", "unit", "obligation", "period", "errors"} <= payload.keys()
    for error in payload["errors"]:
        assert error.keys() >= ERROR_KEYS
    return payload


def test_cli_accepts_rejects_and_never_tracebacks(tmp_path):
    store = tmp_path / "store.sqlite"
    good = _report(tmp_path / "good")
    proc = _cli("bhxh.cli.ingest", str(good), "--received-at", "2019-11-01T09:00:00+07:00", store=store)
    out = _json(proc)
    assert proc.returncode == 0, proc.stderr
    assert out["status"] == "accepted" and out["errors"] == []
    assert (out["unit"], out["obligation"], out["period"]) == (UNIT, OB, PERIOD)
    assert out["late"] is False

    bad = _report(tmp_path / "bad", BHYT_BAO_PHU=120, BHXH_TN="nhiều")
    proc = _cli("bhxh.cli.ingest", str(bad), "--received-at", "2019-11-20T08:00", store=store)
    out = _json(proc)
    assert proc.returncode == 1
    assert out["status"] == "rejected" and out["late"] is True
    assert {e["code"] for e in out["errors"]} == {"percent_range", "not_a_number"}
    assert all(e["sheet"] == "Chỉ tiêu" and e["row"] and e["column"] == "Thực hiện" for e in out["errors"])
    assert "Traceback" not in proc.stderr


def _main(capsys, monkeypatch, store: Path, *args: str) -> tuple[int, dict | None, str]:
    monkeypatch.setenv("BHXH_STORE_URL", f"sqlite:///{store}")
    try:
        code = ingest_cli.main(list(args))
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.strip()]
    return code, (json.loads(lines[0]) if len(lines) == 1 else None), captured.err


def test_cli_in_process_duplicates_missing_files_and_usage(tmp_path, capsys, monkeypatch):
    store = tmp_path / "store.sqlite"
    good = _report(tmp_path / "good")
    code, out, _ = _main(capsys, monkeypatch, store, str(good), "--received-at", "2019-11-01T09:00:00+07:00")
    assert code == 0 and out["status"] == "accepted" and not out["duplicate"]
    code, again, _ = _main(capsys, monkeypatch, store, str(good))
    assert code == 0 and again["duplicate"] is True and again["submission_id"] == out["submission_id"]

    garbage = tmp_path / file_name(OB, PERIOD, UNIT)
    garbage.write_bytes(b"\x00\x01 not a workbook")
    code, out, err = _main(capsys, monkeypatch, store, str(garbage))
    assert code == 1 and out["errors"][0]["code"] == "not_a_spreadsheet" and "Traceback" not in err

    code, out, err = _main(capsys, monkeypatch, store, str(tmp_path / "nope.xlsx"))
    assert code == 1 and out["status"] == "rejected" and out["errors"][0]["code"] == "file_not_found"
    assert out["errors"][0].keys() >= ERROR_KEYS
    code, out, _ = _main(capsys, monkeypatch, store, str(tmp_path))
    assert code == 1 and out["errors"][0]["code"] == "not_a_file"

    code, out, err = _main(capsys, monkeypatch, store)
    assert code == 2 and out is None and "Traceback" not in err
    code, out, err = _main(capsys, monkeypatch, store, str(good), "--received-at", "yesterday")
    assert code == 2 and out is None and "Traceback" not in err

    maker = session_factory(f"sqlite:///{store}")
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 2  # good once, garbage
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 2


def test_cli_reports_store_unavailable_without_traceback(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = _main(capsys, monkeypatch, blocker / "sub" / "store.sqlite", str(_report(tmp_path)))
    assert code == 3 and out["status"] == "error" and out["errors"][0]["code"] == "store_unavailable"
    assert "Traceback" not in err


class Clock:
    """The inbox's clock, moved by hand: first sightings and quiet periods without sleeping."""

    def __init__(self, when: dt.datetime) -> None:
        self.when = when

    def __call__(self) -> dt.datetime:
        return self.when

    def advance(self, seconds: float) -> None:
        self.when += dt.timedelta(seconds=seconds)


def test_inbox_is_archived_only_after_commit(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    good = _report(inbox)
    bad = inbox / file_name(OB, PERIOD, "bhxh_tinh_lao_cai")
    bad.write_bytes(b"")
    (inbox / "~$lock.xlsx").write_bytes(b"lock")
    clock = Clock(dt.datetime(2019, 11, 1, 3, 0, tzinfo=dt.UTC))

    run = ingest_inbox(inbox, maker, archive, quiet=0, now=clock)
    assert run.store_error is None and len(run.ingested) == 2
    assert sorted(p.name for p in inbox.iterdir()) == ["~$lock.xlsx"]
    archived = archive / "2019-11-01" / good.name
    assert archived.exists()
    with maker() as session:
        sub = session.scalar(select(Submission).where(Submission.unit_id == UNIT))
        assert sub.status == "accepted" and sub.late is False

    # the same file dropped again is archived again but stored once
    archived.replace(good)
    run = ingest_inbox(inbox, maker, archive, quiet=0, now=clock)
    assert run.ingested[0][1].duplicate
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 2


def test_received_time_is_ours_never_the_files_mtime(tmp_path):
    """A file sent in November 2019 stamped 2018 (scp -p, rsync -t) is judged by when the inbox first saw it."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    good = _report(inbox)
    stamped = dt.datetime(2018, 1, 1, tzinfo=dt.UTC).timestamp()
    os.utime(good, (stamped, stamped))
    clock = Clock(dt.datetime(2019, 11, 20, 9, 0, tzinfo=dt.UTC))  # after the 2019 deadline (15/11)
    run = ingest_inbox(inbox, maker, archive, quiet=60, now=clock)
    assert run.waiting == [good.name] and not run.ingested  # seen, not yet quiet
    clock.advance(61)
    os.utime(good, (stamped - 10, stamped - 10))  # touching the mtime again: a change, the quiet period restarts
    run = ingest_inbox(inbox, maker, archive, quiet=60, now=clock)
    assert run.waiting == [good.name]
    clock.advance(61)
    run = ingest_inbox(inbox, maker, archive, quiet=60, now=clock)
    (_path, result), = run.ingested
    assert result.late is True
    with maker() as session:
        sub = session.scalar(select(Submission))
        assert sub.received_at == dt.datetime(2019, 11, 20, 9, 1, 1, tzinfo=dt.UTC)  # first seen as it was taken
    assert (archive / "2019-11-20" / good.name).exists()


def test_first_sightings_survive_a_restart(tmp_path):
    """The ledger of first sightings is a file of ours: a new process (a worker restarted) keeps the time."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    _report(inbox)
    first = dt.datetime(2019, 11, 14, 16, 50, tzinfo=dt.UTC)  # 23:50 in Hà Nội, on the last day
    run = ingest_inbox(inbox, session_factory(url), archive, quiet=600, now=Clock(first))
    assert run.waiting and not run.ingested
    code = (
        "import datetime as dt, sys; from pathlib import Path; from bhxh.intake.inbox import ingest_inbox; "
        "from bhxh.store.engine import session_factory; "
        f"run = ingest_inbox(Path({str(inbox)!r}), session_factory({url!r}), Path({str(archive)!r}), quiet=600, "
        "now=lambda: dt.datetime(2019, 11, 15, 3, 0, tzinfo=dt.UTC)); "
        "print(run.ingested[0][1].late)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "include")})
    assert proc.stdout.strip() == "False", proc.stderr  # on time: seen before the deadline, taken after it
    with session_factory(url)() as session:
        assert session.scalar(select(Submission.received_at)) == first


def test_inbox_keeps_files_when_store_is_down(tmp_path):
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    _report(inbox)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    maker = session_factory(f"sqlite:///{blocker}/store.sqlite")
    run = ingest_inbox(inbox, maker, archive, quiet=0)
    assert run.store_error and not run.ingested
    assert len(list(inbox.iterdir())) == 1 and not archive.exists()


def test_inbox_skips_a_file_replaced_while_read(tmp_path, monkeypatch):
    from bhxh.intake import inbox as watch

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    inbox = tmp_path / "inbox"
    path = _report(inbox)
    real_read = watch.read_bounded

    def read_while_written(fd, *args):
        read = real_read(fd, *args)
        with open(path, "ab") as more:
            more.write(b"more")  # the upload goes on while we read
        return dataclasses.replace(read, stat=os.fstat(fd))

    monkeypatch.setattr(watch, "read_bounded", read_while_written)
    run = ingest_inbox(inbox, session_factory(url), tmp_path / "archive", quiet=0)
    assert run.unstable == [path.name] and not run.ingested
    monkeypatch.undo()
    run = ingest_inbox(inbox, session_factory(url), tmp_path / "archive", quiet=0)
    assert len(run.ingested) == 1


@pytest.mark.parametrize("suffix", [".part", ".tmp"])
def test_inbox_ignores_partial_uploads(tmp_path, suffix):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / f"x.xlsx{suffix}").write_bytes(b"partial")
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    run = ingest_inbox(inbox, session_factory(url), tmp_path / "archive", quiet=0)
    assert not run.ingested and not run.failed


def test_an_upload_paused_half_way_is_not_judged(tmp_path):
    """Half a workbook sits in the inbox (the upload paused): it is not taken while it changes or before it has
    been quiet for the quiet period; once complete and quiet it is ingested whole."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    whole = _report(tmp_path / "src").read_bytes()
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    inbox.mkdir()
    target = inbox / file_name(OB, PERIOD, UNIT)
    target.write_bytes(whole[: len(whole) // 2])
    clock = Clock(dt.datetime(2019, 11, 1, 2, 0, tzinfo=dt.UTC))
    assert ingest_inbox(inbox, maker, archive, quiet=60, now=clock).waiting == [target.name]
    clock.advance(30)
    with target.open("ab") as fh:
        fh.write(whole[len(whole) // 2 :])  # the upload resumes and completes
    assert ingest_inbox(inbox, maker, archive, quiet=60, now=clock).waiting == [target.name]
    clock.advance(59)
    assert not ingest_inbox(inbox, maker, archive, quiet=60, now=clock).ingested
    clock.advance(2)
    run = ingest_inbox(inbox, maker, archive, quiet=60, now=clock)
    (_path, result), = run.ingested
    assert result.status == "accepted", [e.message_en for e in result.errors]
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
    assert (archive / "2019-11-01" / target.name).read_bytes() == whole


def test_the_answer_is_stored_with_the_file_or_neither(tmp_path):
    """The answer to the unit is queued in the transaction that stores its file: when queuing fails, nothing is
    kept and the file stays in the inbox; the next run stores both."""
    from bhxh.steps.intake import answer

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    good = _report(inbox)

    from sqlalchemy.exc import OperationalError

    def store_lost(session, result):
        raise OperationalError("INSERT INTO outbox", {}, Exception("connection lost"))

    run = ingest_inbox(inbox, maker, archive, quiet=0, answer=store_lost)
    assert run.store_error and not run.ingested and good.exists()
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    run = ingest_inbox(inbox, maker, archive, quiet=0, answer=answer)
    assert len(run.ingested) == 1 and not good.exists()
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
        (kind,) = session.scalars(select(OutboxMessage.kind)).all()
        assert kind.startswith("received_")


# -- hostile names and files by hand, and `make ingest` itself ---------------------------------------------------
HOSTILE_NAMES = [
    "a`touch {m}1`.xlsx",
    "b$(touch {m}2).xlsx",
    "c'\"; touch {m}3 | touch {m}4 && touch {m}5; '\".xlsx",
    "e$$(touch {m}6)$${{HOME}}.xlsx",
    "f$(shell touch {m}7).xlsx",
]


def _make(*args: str, store: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "BHXH_INGEST_FILE")}
    env["BHXH_STORE_URL"] = f"sqlite:///{store}"
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "ingest", *args], capture_output=True, text=True,
                          env=env, timeout=180)


def test_make_ingest_hands_the_name_to_no_shell(tmp_path):
    """File names made to run commands in a shell or in make run nothing; each file is read under its own name."""
    marker = f"hostile_marker_{os.getpid()}_"
    store = tmp_path / "store.sqlite"
    for i, pattern in enumerate(HOSTILE_NAMES):
        name = pattern.format(m=marker)
        path = tmp_path / "files" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(_report(tmp_path / f"src{i}", BHXH_BB=1000 + i).read_bytes())  # one version each
        proc = _make(f"FILE={path}", store=store)
        out = _json(proc)
        assert out["file"] == str(path), (name, out["file"])
        assert out["status"] == "rejected" and {e["code"] for e in out["errors"]} == {"filename"}, out["errors"]
        # make's own status is 2 for any failing recipe; the ingest's code is the N of "Error N", and printed
        assert proc.returncode == 2 and "Error 1" in proc.stderr and "exit code 1" in proc.stderr, proc.stderr
    leftovers = [p for base in (ROOT, tmp_path, tmp_path / "files", Path.cwd()) for p in base.glob(f"{marker}*")]
    assert not leftovers, leftovers
    with session_factory(f"sqlite:///{store}")() as session:
        names = set(session.scalars(select(Submission.original_name)))
    assert names == {p.format(m=marker) for p in HOSTILE_NAMES}


def test_make_ingest_exit_codes(tmp_path):
    store = tmp_path / "store.sqlite"
    good = _report(tmp_path / "good")
    proc = _make(f"FILE={good}", store=store)
    assert proc.returncode == 0 and _json(proc)["status"] == "accepted", proc.stderr
    proc = _make(store=store)  # no FILE: a usage error, said as such
    assert proc.returncode == 2 and "usage" in proc.stderr.lower() and "Error 2" in proc.stderr and not proc.stdout
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = _make(f"FILE={good}", store=blocker / "store.sqlite")
    assert proc.returncode == 2 and "Error 3" in proc.stderr and _json(proc)["errors"][0]["code"] == "store_unavailable"


def test_cli_refuses_links_and_special_files_without_following_or_blocking(tmp_path, capsys, monkeypatch):
    store = tmp_path / "store.sqlite"
    target = _report(tmp_path / "elsewhere")
    link = tmp_path / file_name(OB, PERIOD, UNIT)
    link.symlink_to(target)
    code, out, _ = _main(capsys, monkeypatch, store, str(link))
    assert code == 1 and out["errors"][0]["code"] == "symlink"
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    code, out, _ = _main(capsys, monkeypatch, store, str(fifo))  # returns at once: opened with O_NONBLOCK
    assert code == 1 and out["errors"][0]["code"] == "not_regular_file"
    assert not store.exists() or session_factory(f"sqlite:///{store}")().scalar(select(func.count()).select_from(Submission)) == 0


def test_cli_keeps_no_content_of_a_file_over_the_limit(tmp_path, capsys, monkeypatch):
    import hashlib

    from bhxh.intake.limits import MAX_FILE_BYTES

    store = tmp_path / "store.sqlite"
    big = tmp_path / file_name(OB, PERIOD, UNIT)
    with big.open("wb") as fh:
        fh.write(_report(tmp_path / "src").read_bytes())
        fh.truncate(MAX_FILE_BYTES + 1)
    code, out, _ = _main(capsys, monkeypatch, store, str(big))
    assert code == 1 and [e["code"] for e in out["errors"]] == ["file_too_large"]
    with session_factory(f"sqlite:///{store}")() as session:
        sub = session.scalar(select(Submission))
        stored = session.get(StoredFile, sub.sha256)
        assert stored.content is None and stored.size == MAX_FILE_BYTES + 1
        assert sub.sha256 == hashlib.sha256(big.read_bytes()).hexdigest() and sub.original_name == big.name
        assert sub.status == "rejected" and sub.unit_id == UNIT
        (answer,) = session.scalars(select(OutboxMessage)).all()  # the unit is told, in the same transaction
        assert "10 MB" in answer.body and answer.unit_id == UNIT

"""The hand-ingest CLI (`make ingest`), the templates CLI (`make templates`) and the inbox watcher."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bhxh.calendar.forms import file_name, get_form
from bhxh.cli import ingest as ingest_cli
from bhxh.intake.forms_xlsx import form_rows, write_report_xlsx
from bhxh.intake.inbox import ingest_inbox
from bhxh.store.engine import init_store, session_factory
from bhxh.store.models import StoredFile, Submission

ROOT = Path(__file__).resolve().parents[2]
OB, PERIOD, UNIT = "nq51_action_programme", "2019", "bhxh_tinh_yen_bai"
FORM = get_form("nq51_indicators")
VALUES = {"BHXH_BB": 1000, "BHXH_TN": 100, "BHTN": 900, "BHYT": 5000, "BHYT_BAO_PHU": 90.5, "TONG_THU": 1234.5,
          "CHAM_DONG": 12, "GIAO_DICH_DT": 99, "NHIEM_VU_HT": 5, "NHIEM_VU_GIAO": 8}
ERROR_KEYS = {"row", "column", "code", "message_vi", "message_en", "sheet"}


def _report(folder: Path, **values) -> Path:
    return write_report_xlsx(folder / file_name(OB, PERIOD, UNIT), FORM, {"unit": UNIT, "obligation": OB, "period": PERIOD},
                             form_rows(FORM, {**VALUES, **values}))


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


def test_inbox_is_archived_only_after_commit(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    good = _report(inbox)
    bad = inbox / file_name(OB, PERIOD, "bhxh_tinh_lao_cai")
    bad.write_bytes(b"")
    (inbox / "~$lock.xlsx").write_bytes(b"lock")
    when = dt.datetime(2019, 11, 1, 3, 0, tzinfo=dt.UTC).timestamp()
    os.utime(good, (when, when))

    run = ingest_inbox(inbox, maker, archive)
    assert run.store_error is None and len(run.ingested) == 2
    assert sorted(p.name for p in inbox.iterdir()) == ["~$lock.xlsx"]
    archived = archive / "2019-11-01" / good.name
    assert archived.exists()
    with maker() as session:
        sub = session.scalar(select(Submission).where(Submission.unit_id == UNIT))
        assert sub.status == "accepted" and sub.late is False

    # the same file dropped again is archived again but stored once
    archived.replace(good)
    os.utime(good, (when, when))
    run = ingest_inbox(inbox, maker, archive)
    assert run.ingested[0][1].duplicate
    with maker() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 2


def test_inbox_keeps_files_when_store_is_down(tmp_path):
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    _report(inbox)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    maker = session_factory(f"sqlite:///{blocker}/store.sqlite")
    run = ingest_inbox(inbox, maker, archive)
    assert run.store_error and not run.ingested
    assert len(list(inbox.iterdir())) == 1 and not archive.exists()


def test_inbox_skips_a_file_replaced_while_read(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    inbox = tmp_path / "inbox"
    path = _report(inbox)
    real_open = Path.open

    def replacing_open(self, *args, **kwargs):
        fh = real_open(self, *args, **kwargs)
        if self == path:
            with open(path, "ab") as more:  # builtin open: Path.open is the function patched here
                more.write(b"more")  # the upload goes on while we read
            time.sleep(0.01)
        return fh

    monkeypatch.setattr(Path, "open", replacing_open)
    run = ingest_inbox(inbox, session_factory(url), tmp_path / "archive")
    assert run.unstable == [path.name] and not run.ingested
    monkeypatch.undo()
    run = ingest_inbox(inbox, session_factory(url), tmp_path / "archive")
    assert len(run.ingested) == 1


@pytest.mark.parametrize("suffix", [".part", ".tmp"])
def test_inbox_ignores_partial_uploads(tmp_path, suffix):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / f"x.xlsx{suffix}").write_bytes(b"partial")
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    run = ingest_inbox(inbox, session_factory(url), tmp_path / "archive")
    assert not run.ingested and not run.failed

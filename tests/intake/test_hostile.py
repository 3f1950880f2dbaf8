"""The hostile-input suite: files built the way an attacker or a clumsy uploader would (bhxh_bench.hostile_files),
one family per class of the intake's limits, each dropped in an inbox before a good report and ingested in a
child process held to 500 MB of address space and 10 s of CPU (bhxh_bench.hostile.run_child).

Each asserts a clear bilingual refusal (or the acceptance a harmless oddity deserves), that nothing is stored
that should not be (no rows of a refused file, no bytes of a file over the size limit, nothing at all of a file
set aside), and that the good report after it is still ingested and answered.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import sqlite3
import tempfile
from pathlib import Path

import pytest

from bhxh_bench.hostile import ALL, prepare, run_child
from bhxh_bench.hostile_files import good_report, name_of

GOOD_UNIT = "vu_tccb"


def _rows(work: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(work / "store.sqlite") as db:
        return db.execute(sql, args).fetchall()


def _bilingual(errors: list[dict]) -> None:
    for e in errors:
        assert e["message_vi"] and e["message_en"] and e["message_vi"] != e["message_en"], e
        assert "Traceback" not in e["message_en"] and "\n" not in e["message_vi"] + e["message_en"], e


def _good_was_taken(out: dict, good: Path, work: Path) -> None:
    assert out["results"][good.name]["status"] == "accepted", out["results"][good.name]["errors"]
    (answers,) = _rows(work, "SELECT count(*) FROM outbox WHERE unit_id = ?", GOOD_UNIT)
    assert answers == (1,)  # answered once, in the same transaction


@pytest.mark.parametrize("hostile", [pytest.param(h, marks=[pytest.mark.slow] if h.heavy else []) for h in ALL], ids=[h.id for h in ALL])
def test_hostile_file(hostile, tmp_path):
    target, good = prepare(tmp_path, hostile)
    size = target.stat().st_size
    out = run_child(tmp_path)
    assert not out["killed"], (out["returncode"], out["stderr"])  # within 500 MB and 10 s of CPU
    result = out["results"][target.name]
    codes = {e["code"] for e in result["errors"]}
    assert codes == set(hostile.codes), [e["message_en"] for e in result["errors"]]
    _bilingual(result["errors"])
    assert len(result["errors"]) <= 51 and result["error_count"] >= len(result["errors"])
    ((status, data, errors_json, stored_size, content_kept),) = _rows(
        tmp_path, "SELECT s.status, s.data, s.errors, f.size, f.content IS NOT NULL FROM submissions s "
        "JOIN stored_files f ON f.sha256 = s.sha256 WHERE s.original_name = ?", target.name)
    assert status == ("rejected" if hostile.codes else "accepted")
    assert stored_size == size
    if hostile.codes:
        assert data in (None, "null")  # nothing of a refused file reaches the consolidation
        assert len(errors_json) < 64 * 1024
    if hostile.id == "oversize":
        assert not content_kept and not target.exists()  # name, size, checksum and refusal only
        assert not list((tmp_path / "archive").rglob(target.name))
    else:
        assert content_kept and list((tmp_path / "archive").rglob(target.name))
    _good_was_taken(out, good, tmp_path)


def test_accepted_oddities_are_read_as_excel_shows_them(tmp_path):
    """A percentage-formatted cell (0.905 shown as 90.5%) is 90.5; a note of 8 MB is kept to Excel's 32,767
    characters; every number kept is finite."""
    import json

    from bhxh_bench import hostile_files as hf
    from bhxh_bench import hostile_resources as hr

    for builder, check in ((hf.percent_formatted, lambda rows: rows["BHYT_BAO_PHU"]["actual"] == 90.5),
                           (hr.huge_string, lambda rows: len(rows["BHXH_BB"]["note"]) == 32_767)):
        work = tmp_path / builder.__name__
        (work / "build").mkdir(parents=True)
        target, good = prepare(work, hf.Hostile(builder.__name__, "meaning", builder, frozenset()))
        out = run_child(work)
        assert out["results"][target.name]["status"] == "accepted", out["results"][target.name]["errors"]
        ((data,),) = _rows(work, "SELECT data FROM submissions WHERE original_name = ?", target.name)
        rows = {r["code"]: r for r in json.loads(data)["rows"]}
        assert check(rows), rows
        assert all(v is None or math.isfinite(v) for r in rows.values() for v in (r["actual"], r["plan"]))


# -- the inbox: files that are not what they look like ---------------------------------------------------------
def _outside(tmp_path: Path) -> Path:
    """A valid report of another unit, outside the inbox (what a link would make us store and serve)."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return good_report(folder, unit="bhxh_tinh_lao_cai")


def _symlink(inbox: Path, tmp_path: Path) -> str:
    name = name_of("bhxh_tinh_lao_cai")
    (inbox / name).symlink_to(_outside(tmp_path))
    return name


def _hard_link(inbox: Path, tmp_path: Path) -> str:
    name = name_of("bhxh_tinh_lao_cai")
    os.link(_outside(tmp_path), inbox / name)
    return name


def _fifo(inbox: Path, tmp_path: Path) -> str:
    name = name_of("bhxh_tinh_lao_cai")
    os.mkfifo(inbox / name)  # opening it for reading would block for ever without O_NONBLOCK
    return name


def _socket(inbox: Path, tmp_path: Path) -> str:
    name = "s.xlsx"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(inbox / name))
    sock.close()
    return name


def _not_utf8(inbox: Path, tmp_path: Path) -> str:
    raw = os.fsencode(inbox) + b"/nq51_action_programme__2019__bhxh_tinh_yen_bai_\xff\xfe.xlsx"
    shutil.copy(good_report(tmp_path / "src"), raw)
    return os.fsdecode(raw.rsplit(b"/", 1)[1])


def _line_break(inbox: Path, tmp_path: Path) -> str:
    name = "nq51_action_programme__2019__bhxh_tinh_yen_bai\nRe: OK.xlsx"
    shutil.copy(good_report(tmp_path / "src"), inbox / name)
    return name


def _too_long(inbox: Path, tmp_path: Path) -> str:
    name = "nq51_action_programme__2019__bhxh_tinh_yen_bai_" + "x" * 200 + ".xlsx"
    shutil.copy(good_report(tmp_path / "src"), inbox / name)
    return name


def _unreadable(inbox: Path, tmp_path: Path) -> str:
    name = name_of()
    path = good_report(inbox)
    path.chmod(0)
    return name


ENTRIES = {
    "symlink": (_symlink, "symlink"),
    "hard_link": (_hard_link, "hard_link"),
    "fifo": (_fifo, "not_regular_file"),
    "socket": (_socket, "not_regular_file"),
    "name_not_utf8": (_not_utf8, "name_not_utf8"),
    "name_line_break": (_line_break, "name_control_chars"),
    "name_too_long": (_too_long, "name_too_long"),
    "unreadable": (_unreadable, "unreadable_file"),
}


@pytest.mark.parametrize("kind", list(ENTRIES))
def test_inbox_sets_aside_what_is_not_a_plain_file(kind):
    """Whatever is wrong with one entry, it goes to the quarantine with its reason; nothing of it is stored (a
    link's target never is), and the good report after it is ingested."""
    work = Path(tempfile.mkdtemp(prefix="bhxh_hostile_"))  # outside pytest's 0700 folder: the child may run as nobody
    try:
        inbox = work / "inbox"
        inbox.mkdir()
        make, code = ENTRIES[kind]
        name = make(inbox, work)
        good = good_report(inbox, unit=GOOD_UNIT)
        out = run_child(work, as_nobody=kind == "unreadable")
        assert not out["killed"], out["stderr"]
        assert [c for _n, c in out["quarantined"]] == [code], out
        (aside,) = [n for n, _c in out["quarantined"]]
        assert (work / "quarantine" / aside).exists() or (work / "quarantine" / aside).is_symlink()
        reason = (work / "quarantine" / f"{aside}.reason.txt").read_text(encoding="utf-8")
        assert f"(mã / code: {code})" in reason and "Lý do:" in reason and "Reason:" in reason
        assert os.fsencode(name).hex() in reason
        assert not os.path.lexists(os.fsencode(inbox) + b"/" + os.fsencode(name))
        assert _rows(work, "SELECT unit_id FROM submissions") == [(GOOD_UNIT,)]  # nothing of it, nor of its target
        assert _rows(work, "SELECT count(*) FROM stored_files") == [(1,)]
        if kind in ("symlink", "hard_link"):
            assert (work / "outside" / name).exists()  # never moved, never read
        _good_was_taken(out, good, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_a_backdated_file_is_judged_by_when_we_saw_it(tmp_path):
    """scp -p keeps the sender's mtime (here 1/11/2019, before the deadline): the child's inbox first sees the file
    on 20/11/2019, after it, and that is what counts."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = good_report(inbox)
    good = good_report(inbox, unit=GOOD_UNIT)
    stamp = 1572573600  # 2019-11-01 02:00 UTC
    os.utime(path, (stamp, stamp))
    out = run_child(tmp_path, received="2019-11-20T09:00:00+07:00")
    assert out["results"][path.name]["late"] is True and out["results"][path.name]["status"] == "accepted"
    assert list((tmp_path / "archive" / "2019-11-20").glob(path.name))
    assert out["results"][good.name]["status"] == "accepted"


def test_a_file_refused_unread_is_judged_by_its_refusal_when_revalidated(tmp_path):
    """Revalidating a cycle reads every stored file again; one kept without its content (over the size limit)
    keeps its refusal instead."""
    import datetime as dt

    from bhxh.calendar.expected import plan_cycle
    from bhxh.intake.reading import too_large
    from bhxh.intake.submission import ingest_refused
    from bhxh.steps.cycle import validate_unit
    from bhxh.store.engine import init_store, session_factory

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    init_store(url)
    with session_factory(url)() as session, session.begin():
        ingest_refused(session, name_of(), 20 * 2**20, "ef" * 32, dt.datetime(2019, 11, 1, tzinfo=dt.UTC), too_large(20 * 2**20))
        outcome = validate_unit(session, plan_cycle("nq51_action_programme", "2019"), "bhxh_tinh_yen_bai", revalidate=True)
    assert outcome.state == "invalid" and [e["code"] for e in outcome.errors] == ["file_too_large"]

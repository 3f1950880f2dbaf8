"""A unit's file is replaced while the intake reads it: the store gets the old or the new version whole, never
a mix. The replacement happens exactly in the middle of the read (the read is split in two and the file is
replaced in between), both by an upload that renames a new file into place and by an in-place rewrite; the
intake reads through one descriptor and checks it before and after, and archives only what it stored."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

UNIT = "bhxh_tinh_yen_bai"


def _version(folder: Path, done: int) -> bytes:
    from bhxh.calendar.forms import file_name, get_form
    from bhxh.intake.forms_xlsx import form_rows, write_report_csv

    form = get_form("nq51_indicators")
    values = {"NHIEM_VU_GIAO": 12, "NHIEM_VU_HT": done, "BHXH_BB": 100_000 + done, "BHXH_TN": 2_000, "BHTN": 90_000,
              "BHYT": 800_000, "BHYT_BAO_PHU": 90.5, "TONG_THU": 1_000_000, "CHAM_DONG": 30_000, "GIAO_DICH_DT": 95.0}
    path = folder / f"v{done}" / file_name("nq51_action_programme", "2019", UNIT, ".csv")
    write_report_csv(path, form, {"unit": UNIT, "obligation": "nq51_action_programme", "period": "2019"},
                     form_rows(form, values))
    return path.read_bytes()


@pytest.mark.parametrize("how", ["rename_into_place", "rewrite_in_place"])
def test_replaced_mid_read_is_taken_whole(tmp_path, monkeypatch, how):
    from sqlalchemy import select

    from bhxh.intake import inbox as watch
    from bhxh.intake.files import FileRead
    from bhxh.store.engine import init_store, session_factory
    from bhxh.store.models import StoredFile, Submission

    old, new = _version(tmp_path, 7), _version(tmp_path, 9)
    assert len(old) == len(new) and old != new  # same size: only the content tells them apart
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    inbox.mkdir()
    target = inbox / "nq51_action_programme__2019__bhxh_tinh_yen_bai.csv"
    target.write_bytes(old)
    replaced = []

    def replace():
        if replaced:
            return
        replaced.append(True)
        if how == "rename_into_place":
            tmp = inbox / (target.name + ".part")
            tmp.write_bytes(new)
            os.replace(tmp, target)
        else:
            with target.open("r+b") as fh:
                fh.write(new)

    real_read = watch.read_bounded

    def split_read(fd, *args):
        """Read half of the file, let the replacement happen, read the rest (through the same descriptor)."""
        if replaced:
            return real_read(fd, *args)
        size = os.fstat(fd).st_size
        first = os.read(fd, size // 2)
        replace()
        rest = real_read(fd, *args)
        content = first + rest.content
        return FileRead(content, len(content), hashlib.sha256(content).hexdigest(), os.fstat(fd))

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    monkeypatch.setattr(watch, "read_bounded", split_read)
    first = watch.ingest_inbox(inbox, maker, archive, quiet=0)
    monkeypatch.setattr(watch, "read_bounded", real_read)
    assert replaced
    second = watch.ingest_inbox(inbox, maker, archive, quiet=0)  # the next run takes what is there now
    assert list(inbox.iterdir()) == []
    with maker() as session:
        stored = [session.get(StoredFile, s.sha256).content for s in session.scalars(select(Submission))]
    whole = {hashlib.sha256(old).hexdigest(), hashlib.sha256(new).hexdigest()}
    assert stored and all(hashlib.sha256(c).hexdigest() in whole for c in stored), "a mixed version was stored"
    assert hashlib.sha256(new).hexdigest() in {hashlib.sha256(c).hexdigest() for c in stored}  # the new one, in the end
    assert len(first.ingested) + len(second.ingested) == len(stored)

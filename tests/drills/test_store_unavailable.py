"""The store is unavailable when the intake runs: every file stays in the inbox, nothing is archived; once the
store is back, the next run ingests each file exactly once and archives it."""

from __future__ import annotations

import shutil

import pytest

from bhxh.devservers import free_port

pytestmark = pytest.mark.e2e


def _copy_inbox(sample_inbox, inbox):
    inbox.mkdir(parents=True)
    names = []
    for path in sorted(sample_inbox.iterdir()):
        if path.suffix in (".xlsx", ".csv"):
            shutil.copy2(path, inbox / path.name)
            names.append(path.name)
    return names


def _ingest_inbox():
    from bhxh.intake import inbox as watch
    return watch.ingest_inbox


@pytest.mark.parametrize("down", ["postgresql_unreachable", "sqlite_missing"])
def test_files_stay_until_the_store_is_back(tmp_path, sample_inbox, down):
    from sqlalchemy import func, select

    from bhxh.store.engine import init_store, session_factory
    from bhxh.store.models import Submission

    ingest_inbox = _ingest_inbox()
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    names = _copy_inbox(sample_inbox, inbox)
    if down == "postgresql_unreachable":  # a PostgreSQL port where nothing answers
        bad_url = f"postgresql+psycopg://bhxh@127.0.0.1:{free_port()}/bhxh?connect_timeout=2"
    else:  # the SQLite store's volume is not mounted
        bad_url = f"sqlite:///{tmp_path / 'not_mounted' / 'store.sqlite'}"
    for _ in range(2):
        run = ingest_inbox(inbox, session_factory(bad_url), archive, quiet=0)
        assert run.store_error, run
        assert run.ingested == []
        assert sorted(p.name for p in inbox.iterdir()) == names  # every file still in the inbox
        assert not archive.exists() or not any(archive.rglob("*.*"))

    good_url = f"sqlite:///{tmp_path / 'store.sqlite'}"  # the store is back
    init_store(good_url)
    run = ingest_inbox(inbox, session_factory(good_url), archive, quiet=0)
    assert run.store_error is None and not run.failed and not run.unstable
    assert len(run.ingested) == len(names)
    assert list(inbox.iterdir()) == []
    assert sorted(p.name for p in archive.rglob("*") if p.is_file()) == sorted(names)
    again = ingest_inbox(inbox, session_factory(good_url), archive, quiet=0)
    assert again.ingested == []
    with session_factory(good_url)() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == len(names)

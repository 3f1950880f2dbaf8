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


def _silent_server():
    """A TCP port that accepts connections (the kernel completes them) and never answers a byte."""
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    return srv


def test_ingest_gives_up_on_a_store_that_never_answers(tmp_path):
    """`make ingest` against a PostgreSQL address that accepts and then says nothing: exit 3 well within 10 s
    (timed from after the imports), the JSON says the store is unavailable."""
    import json
    import os
    import subprocess
    import sys

    from bhxh import PROJECT_ROOT
    from bhxh_bench.hostile_files import good_report

    good = good_report(tmp_path)
    srv = _silent_server()
    code = (
        "import json, sys, time, io, contextlib; from bhxh.cli import ingest as cli; import bhxh.steps.intake; "
        "out = io.StringIO(); started = time.monotonic(); "
        "buf = contextlib.redirect_stdout(out); buf.__enter__(); "
        f"rc = cli.main([{str(good)!r}]); buf.__exit__(None, None, None); "
        "print(json.dumps({'rc': rc, 'elapsed': time.monotonic() - started, 'out': json.loads(out.getvalue())}))"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "include"),
           "BHXH_STORE_URL": f"postgresql+psycopg://bhxh@127.0.0.1:{srv.getsockname()[1]}/bhxh"}
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=90)
    finally:
        srv.close()
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rc"] == 3 and result["out"]["errors"][0]["code"] == "store_unavailable", proc.stderr
    assert result["elapsed"] < 10, result["elapsed"]


def test_ingest_gives_up_on_a_locked_sqlite_store_and_records_nothing(tmp_path, capsys, monkeypatch):
    """Another process holds the SQLite store's write lock for ever: the ingest waits the busy timeout, exits 3,
    and once the lock is gone the store holds nothing of it."""
    import json
    import sqlite3
    import time

    from bhxh.cli import ingest as cli
    from bhxh.store.engine import init_store
    from bhxh_bench.hostile_files import good_report

    store = tmp_path / "store.sqlite"
    url = f"sqlite:///{store}"
    init_store(url)
    good = good_report(tmp_path)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        monkeypatch.setenv("BHXH_STORE_URL", url)
        started = time.monotonic()
        code = cli.main([str(good)])
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    out = json.loads(capsys.readouterr().out)
    assert code == 3 and out["errors"][0]["code"] == "store_unavailable"
    assert elapsed < 10, elapsed
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM submissions").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)

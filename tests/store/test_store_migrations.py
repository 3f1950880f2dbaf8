"""Migration 0003_intake_hardening on SQLite (the PostgreSQL run is in test_store_postgres.py): a file refused
before it was read keeps no content, the full count of a capped error list is kept, and the way back to 0002
keeps every row."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, select

from bhxh.intake.reading import too_large
from bhxh.intake.submission import ingest_refused
from bhxh.store.engine import get_engine, init_store, session_factory
from bhxh.store.models import StoredFile, Submission


def _config(url: str) -> Config:
    from pathlib import Path

    import bhxh.store

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(bhxh.store.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["engine"] = get_engine(url)
    return cfg


def test_refused_file_keeps_no_content_and_survives_a_downgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    columns = {c["name"]: c for c in inspect(get_engine(url)).get_columns("stored_files")}
    assert columns["content"]["nullable"]
    assert "error_count" in {c["name"] for c in inspect(get_engine(url)).get_columns("submissions")}
    maker = session_factory(url)
    with maker() as session, session.begin():
        result = ingest_refused(session, "nq51_action_programme__2019__bhxh_tinh_yen_bai.xlsx", 11 * 2**20, "ab" * 32,
                                dt.datetime(2019, 11, 1, tzinfo=dt.UTC), too_large(11 * 2**20))
        again = ingest_refused(session, "nq51_action_programme__2019__bhxh_tinh_yen_bai.xlsx", 11 * 2**20, "ab" * 32,
                               dt.datetime(2019, 11, 2, tzinfo=dt.UTC), too_large(11 * 2**20))
    assert result.status == "rejected" and result.error_count == 1 and again.duplicate
    with maker() as session:
        assert session.get(StoredFile, "ab" * 32).content is None
        sub = session.scalar(select(Submission))
        assert (sub.unit_id, sub.cycle_key, sub.error_count) == ("bhxh_tinh_yen_bai", "2019", 1)
        assert sub.late is False  # 1/11/2019, before the deadline

    command.downgrade(_config(url), "0002")
    columns = {c["name"]: c for c in inspect(get_engine(url)).get_columns("stored_files")}
    assert not columns["content"]["nullable"]
    with get_engine(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT content FROM stored_files").scalar_one() == b""
        assert conn.exec_driver_sql("SELECT count(*) FROM submissions").scalar_one() == 1
    init_store(url)  # and up again
    with maker() as session:
        assert session.scalar(select(Submission)).error_count is None  # the count did not survive the way back


def test_upgrading_a_store_full_of_submissions(tmp_path):
    """A store at 0002 with files, submissions and results referring to them upgrades to 0003 in place."""
    from sqlalchemy import text

    from bhxh_bench.hostile_files import good_report

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    cfg = _config(url)
    command.upgrade(cfg, "0002")
    engine = get_engine(url)
    path = good_report(tmp_path)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO stored_files (sha256, size, content) VALUES ('f1', :n, :c)"), {"n": path.stat().st_size, "c": path.read_bytes()})
        conn.execute(text("INSERT INTO submissions (obligation_id, cycle_key, unit_id, sha256, original_name, size, received_at, status) "
                          "VALUES ('nq51_action_programme', '2019', 'bhxh_tinh_yen_bai', 'f1', :name, 1, '2019-11-01 00:00:00', 'accepted')"),
                     {"name": path.name})
        conn.execute(text("INSERT INTO validation_results (obligation_id, cycle_key, unit_id, submission_id, state, checked_at) "
                          "VALUES ('nq51_action_programme', '2019', 'bhxh_tinh_yen_bai', 1, 'on_time', '2019-11-20 00:00:00')"))
    init_store(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT content FROM stored_files").scalar_one() == path.read_bytes()
        assert conn.exec_driver_sql("SELECT count(*) FROM validation_results").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1  # enforced again

"""The store on a real PostgreSQL server (not a mock): Alembic migrations, ingest, duplicates, versions.

The test creates its own database on the server at 127.0.0.1:5432 (admin URL overridable with
BHXH_TEST_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres, trust auth) and drops it at
the end. If no server answers, the test FAILS and says what is missing: the issue requires the store to be
tested on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bhxh.calendar.forms import file_name, get_form
from bhxh.intake.forms_xlsx import form_rows, write_report_xlsx
from bhxh.intake.submission import ingest
from bhxh.store.engine import _ENGINES, init_store, session_factory
from bhxh.store.models import StoredFile, Submission
from bhxh_bench.hostile_files import fill_tasks

ADMIN_URL = os.environ.get("BHXH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
OB, PERIOD, UNIT = "nq51_action_programme", "2019", "bhxh_tinh_yen_bai"
FORM = get_form("nq51_indicators")
VALUES = {"BHXH_BB": 1000, "BHXH_TN": 100, "BHTN": 900, "BHYT": 5000, "BHYT_BAO_PHU": 90.5, "TONG_THU": 1234.5,
          "CHAM_DONG": 12, "GIAO_DICH_DT": 99, "NHIEM_VU_HT": 5, "NHIEM_VU_GIAO": 8}


@pytest.fixture
def pg_url():
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"No PostgreSQL server answers at {make_url(ADMIN_URL).render_as_string(hide_password=True)}: the store "
            "must be tested on a real PostgreSQL (start one, e.g. `pg_ctlcluster 15 main start`, trust auth for "
            f"user postgres, or set BHXH_TEST_PG_URL). Driver said: {str(exc.orig).strip().splitlines()[0]}",
            pytrace=False,
        )
    name = f"bhxh_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        engine = _ENGINES.pop(url, None)
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _file(tmp_path, folder: str, **values) -> tuple[str, bytes]:
    path = write_report_xlsx(tmp_path / folder / file_name(OB, PERIOD, UNIT), FORM,
                             {"unit": UNIT, "obligation": OB, "period": PERIOD}, form_rows(FORM, {**VALUES, **values}))
    fill_tasks(path)
    return path.name, path.read_bytes()


def _counts(maker) -> tuple[int, int]:
    with maker() as s:
        return s.scalar(select(func.count()).select_from(Submission)), s.scalar(select(func.count()).select_from(StoredFile))


def test_store_on_postgresql(pg_url, tmp_path):
    assert init_store(pg_url) == pg_url
    init_store(pg_url)  # upgrading twice is a no-op
    engine = _ENGINES[pg_url]
    assert engine.dialect.name == "postgresql"
    assert {"stored_files", "submissions", "validation_results", "outbox", "alembic_version"} <= set(inspect(engine).get_table_names())
    maker = session_factory(pg_url)
    received = dt.datetime(2019, 11, 1, 9, 0, tzinfo=dt.UTC)

    name, v1 = _file(tmp_path, "v1", NHIEM_VU_HT=15)  # rejected: completed over assigned
    with maker() as s, s.begin():
        first = ingest(s, v1, name, received)
    assert first.status == "rejected" and not first.duplicate
    with maker() as s, s.begin():
        same = ingest(s, v1, name, received + dt.timedelta(hours=1))
    assert same.duplicate and same.submission_id == first.submission_id
    assert _counts(maker) == (1, 1)

    name, v2 = _file(tmp_path, "v2")  # the corrected version
    with maker() as s, s.begin():
        second = ingest(s, v2, name, received + dt.timedelta(days=1))
    assert second.status == "accepted" and second.submission_id != first.submission_id
    assert _counts(maker) == (2, 2)

    # re-running the whole intake any number of times leaves the store as it is
    for _ in range(3):
        with maker() as s, s.begin():
            assert ingest(s, v1, name, received).duplicate
            assert ingest(s, v2, name, received).duplicate
    assert _counts(maker) == (2, 2)

    with maker() as s:
        subs = s.scalars(select(Submission).order_by(Submission.id)).all()
        assert [x.status for x in subs] == ["rejected", "accepted"]
        assert subs[0].errors[0]["code"] == "not_more_than"
        assert subs[1].data["rows"][0]["code"] == "BHXH_BB"
        assert s.get(StoredFile, subs[1].sha256).content == v2
        assert subs[1].received_at.tzinfo is not None


def test_unreadable_file_with_odd_metadata_is_kept_on_postgresql(pg_url, tmp_path):
    """Values PostgreSQL would refuse (NUL bytes, over-long codes) never reach its columns."""
    init_store(pg_url)
    maker = session_factory(pg_url)
    content = ("# Mã đơn vị: " + "x" * 300 + "\x00\n# Mã báo cáo: " + OB + "\n# Kỳ báo cáo: 2019\nMã chỉ tiêu\n").encode("utf-16")
    with maker() as s, s.begin():
        result = ingest(s, content, "gui_lai.csv", dt.datetime(2019, 11, 1, tzinfo=dt.UTC))
        again = ingest(s, content, "gui_lai.csv", dt.datetime(2019, 11, 1, tzinfo=dt.UTC))
    assert result.status == "rejected" and again.duplicate
    assert _counts(maker) == (1, 1)


def test_refused_file_keeps_no_content_on_postgresql(pg_url):
    """0003 on PostgreSQL: a file refused before it was read has its size, checksum and refusal, no bytes."""
    from bhxh.intake.reading import too_large
    from bhxh.intake.submission import ingest_refused

    init_store(pg_url)
    maker = session_factory(pg_url)
    with maker() as s, s.begin():
        result = ingest_refused(s, file_name(OB, PERIOD, UNIT), 12 * 2**20, "cd" * 32, dt.datetime(2019, 11, 1, tzinfo=dt.UTC), too_large(12 * 2**20))
    assert result.status == "rejected" and result.error_count == 1
    with maker() as s:
        assert s.get(StoredFile, "cd" * 32).content is None
        assert s.scalar(select(Submission.error_count).where(Submission.sha256 == "cd" * 32)) == 1


def test_statements_have_a_time_limit_on_postgresql(pg_url):
    """A statement that waits (a lock held elsewhere, a slow query) is cancelled by the server after
    STATEMENT_TIMEOUT_MS, so an ingest gives up instead of hanging."""
    import time

    from bhxh.store.engine import STATEMENT_TIMEOUT_MS, get_engine

    init_store(pg_url)
    started = time.monotonic()
    with get_engine(pg_url).connect() as conn, pytest.raises(OperationalError, match="statement timeout"):
        conn.execute(text("SELECT pg_sleep(30)"))
    assert time.monotonic() - started < STATEMENT_TIMEOUT_MS / 1000 + 5

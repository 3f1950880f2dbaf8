"""The status board's task page: a unit's cell links to the task statuses it reported (plan-based reports)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client_and_sub(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "plugins"))
    import status_board
    from fastapi.testclient import TestClient

    from bhxh.cli.sample import generate, read_manifest
    from bhxh.intake.submission import ingest
    from bhxh.store.engine import init_store, session_factory

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    generate(tmp_path / "inbox")
    maker = session_factory(url)
    ids = {}
    with maker() as session, session.begin():
        for item in read_manifest(tmp_path / "inbox"):
            path = Path(item.path)
            if path.suffix == ".xlsx" and "/v1/" not in item.path:
                result = ingest(session, path.read_bytes(), path.name, dt.datetime.fromisoformat(item.received_at))
                ids[item.scenario, item.unit_id] = result.submission_id
    monkeypatch.setattr(status_board, "store_url", lambda: url)
    monkeypatch.setattr(status_board, "_may_read", lambda user, dag_id: True)
    status_board.app.dependency_overrides[status_board._current_user] = lambda: object()
    yield TestClient(status_board.app), ids
    status_board.app.dependency_overrides.clear()


def test_task_page_shows_what_the_unit_reported(client_and_sub):
    client, ids = client_and_sub
    (_, unit_id), sub_id = next((k, v) for k, v in ids.items() if k[0] == "on_time")
    page = client.get(f"/nhiem-vu/{sub_id}")
    assert page.status_code == 200
    assert "Tình trạng nhiệm vụ" in page.text and 'id="tasks"' in page.text
    assert any(label in page.text for label in ("Hoàn thành", "Đúng tiến độ", "Chậm tiến độ", "Chưa triển khai"))


def test_task_page_of_a_rejected_report_shows_why(client_and_sub):
    client, ids = client_and_sub
    sub_id = next(v for k, v in ids.items() if k[0] == "invalid:task_left_out")
    page = client.get(f"/nhiem-vu/{sub_id}")
    assert page.status_code == 200
    assert "Thiếu nhiệm vụ" in page.text
    assert client.get("/nhiem-vu/999999").status_code == 404

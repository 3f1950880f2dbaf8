"""What the consolidate step reads and writes beside the documents: the department's settings read from the Airflow
connections (dags/common/wiring.py document_settings), and the HTML annex of the operators' actions."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from bhxh.reports.documents import action_rows, render_reports


@dataclass
class Action:  # the shape of a record of Consolidated.actions
    when: dt.datetime
    who: str
    unit_id: str
    unit_name: str | None
    kind: str
    reason: str
    new_last_day: dt.date | None = None


def test_document_settings_come_from_the_connections(monkeypatch):
    from common.wiring import document_settings

    p12 = base64.b64encode(b"\x30\x82p12").decode()
    monkeypatch.setenv("AIRFLOW_CONN_BHXH_ISSUER", json.dumps(
        {"conn_type": "generic", "extra": {"vu_khdt": {"signer": {"name": "Trần Văn Bình"}}}}))
    monkeypatch.setenv("AIRFLOW_CONN_BHXH_SIGNING", json.dumps(
        {"conn_type": "generic", "password": "chung-thu-chung", "extra": {"p12_path": "/etc/bhxh/chung.p12"}}))
    monkeypatch.setenv("AIRFLOW_CONN_BHXH_SIGNING_VU_PC", json.dumps(
        {"conn_type": "generic", "password": "mat-khau-pc", "extra": {"p12_base64": p12}}))
    khdt = document_settings("vu_khdt")
    assert khdt["issuer"] == {"vu_khdt": {"signer": {"name": "Trần Văn Bình"}}}
    assert khdt["signing"] == {"p12_base64": None, "p12_path": "/etc/bhxh/chung.p12", "passphrase": "chung-thu-chung"}
    assert document_settings("vu_pc")["signing"] == {"p12_base64": p12, "p12_path": None, "passphrase": "mat-khau-pc"}
    monkeypatch.delenv("AIRFLOW_CONN_BHXH_SIGNING")
    monkeypatch.delenv("AIRFLOW_CONN_BHXH_ISSUER")
    assert document_settings("vu_khdt") == {"issuer": {}, "signing": None}


def test_html_annex_of_operator_actions(tmp_path, demo_cycle):
    cons, _comp = demo_cycle
    tz = dt.timezone(dt.timedelta(hours=7))
    cons.actions = [
        Action(dt.datetime(2019, 11, 18, 10, 0, tzinfo=tz), "le.thi.d", "bhxh_tinh_nghe_an", None, "returned",
               "Thiếu nhiệm vụ I.4.2 <script>alert(1)</script>"),
        Action(dt.datetime(2019, 11, 12, 8, 30, tzinfo=tz), "le.thi.d", "bhxh_tinh_ha_tinh", "BHXH tỉnh Hà Tĩnh",
               "extension", "Bão số 5", dt.date(2019, 11, 20)),
        Action(dt.datetime(2019, 11, 19, 16, 0, tzinfo=tz), "le.thi.d", "bhxh_tinh_quang_nam", None, "late_reason", "Lỗi mạng"),
        Action(dt.datetime(2019, 11, 19, 16, 0, tzinfo=tz), "x", "bhxh_tinh_quang_nam", None, "deleted_everything", "?"),
    ]
    paths = render_reports(cons, tmp_path, None)  # no comparison: HTML and XLSX only
    html = Path(paths["html"]).read_text(encoding="utf-8")
    annex = html[html.index('<table id="actions">'):]
    assert annex.index("BHXH tỉnh Hà Tĩnh") < annex.index("BHXH tỉnh Nghệ An") < annex.index("BHXH tỉnh Quảng Nam")
    assert "Gia hạn đến hết ngày 20/11/2019" in annex and "Trả lại báo cáo" in annex and "Lý do gửi muộn" in annex
    assert "08:30 12/11/2019" in annex and "le.thi.d" in annex
    assert "<script>" not in annex and "&lt;script&gt;" in annex
    assert "deleted_everything" not in annex and annex.count("<tr>") == 4  # the header and three actions


def test_no_annex_without_actions(tmp_path, demo_cycle):
    cons, _comp = demo_cycle
    html = Path(render_reports(cons, tmp_path, None)["html"]).read_text(encoding="utf-8")
    assert 'id="actions"' not in html
    assert action_rows([], dt.date(2019, 11, 14)) == []

"""The unit portal in-process (FastAPI's test client): personal links, 401/403, CSRF, the pre-filled template, an
upload of the signed report and its appendix through the intake with a receipt (page, JSON, e-mail), the
limits on an upload, the history; and the links the calls for reports carry."""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from ways_in.conftest import CYCLE, OB

from bhxh.intake import links
from bhxh.intake.signatures import TrustRoots
from bhxh.portal.app import create_app
from bhxh.store.models import OutboxMessage, Parcel, Submission

NOW = dt.datetime(2019, 11, 6, 3, 0, tzinfo=dt.UTC)  # the portal's clock: before the 2019 deadline
SETTINGS = links.PortalSettings("http://testserver", b"portal-test-secret")


@pytest.fixture
def portal(tmp_path, pki):
    from bhxh.store.engine import session_factory

    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "ca.pem").write_bytes(pki.ca.pem)
    url = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    app = create_app(store_url=url, settings=SETTINGS, clock=lambda: NOW, trust=TrustRoots(tmp_path / "trust"))
    return TestClient(app, base_url="http://testserver", follow_redirects=False), session_factory(url)


def token_for(maker, unit_id: str, **kw) -> str:
    with maker() as session:
        return links.mint(SETTINGS, unit_id, links.key_version(session, unit_id), **kw)


def enter(client, maker, unit_id: str, **kw) -> str:
    """Open the unit's link as its e-mail would: the cookie is set and the browser sent to the unit's page."""
    token = token_for(maker, unit_id, **kw)
    response = client.get("/vao", params={"t": token})
    assert response.status_code == 303 and response.headers["location"].startswith(f"/don-vi/{unit_id}")
    assert "httponly" in response.headers["set-cookie"].lower() and "samesite=lax" in response.headers["set-cookie"].lower()
    return token


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def form(sample, pki, *, csrf: str, upload_id: str = "u" * 24, cycle: str = CYCLE, document: bytes | None = None):
    data = {"obligation": OB, "cycle": cycle, "csrf": csrf, "upload_id": upload_id}
    files = {"appendix": (sample.path.name, sample.content, "application/octet-stream"),
             "document": ("Báo cáo có chữ ký.pdf", pki.signed if document is None else document, "application/pdf")}
    return data, files


def test_no_link_explains_how_to_get_one(portal):
    client, _ = portal
    home = client.get("/")
    assert home.status_code == 200 and "đường dẫn riêng" in home.text and "thư đề nghị báo cáo" in home.text
    page = client.get("/don-vi/bhxh_tinh_yen_bai")
    assert page.status_code == 401 and "đường dẫn riêng" in page.text
    assert client.get("/don-vi/bhxh_tinh_yen_bai", headers={"Accept": "application/json"}).json()["code"] == "no_link"
    assert home.headers["x-frame-options"] == "DENY" and home.headers["referrer-policy"] == "same-origin"


def test_tampered_expired_and_revoked_links_are_401_another_units_403(portal, samples):
    client, maker = portal
    unit, other = samples[0].unit_id, samples[1].unit_id
    token = token_for(maker, unit)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/don-vi/{unit}", headers=bearer).status_code == 200
    assert client.get(f"/don-vi/{other}", headers=bearer).status_code == 403  # a valid link, another unit
    body, mac = token.split(".")
    forged = links._b64(links._unb64(body).replace(unit.encode(), other.encode())) + "." + mac  # same MAC, other unit
    for bad in (forged, body + "." + mac[:-2] + "AA", "x.y", "", "a" * 5000):
        assert client.get(f"/don-vi/{other}", headers={"Authorization": f"Bearer {bad}"}).status_code == 401, bad
        assert client.get("/vao", params={"t": bad}).status_code == 401
    with maker() as session:
        expired = links.mint(SETTINGS, unit, links.key_version(session, unit), now=time.time() - 61 * 86400)
    assert client.get(f"/don-vi/{unit}", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    with maker() as session, session.begin():
        links.rotate(session, unit)  # the unit's key changes: every link it had is revoked, others keep theirs
    response = client.get(f"/don-vi/{unit}", headers=bearer)
    assert response.status_code == 401 and "thu hồi" in response.text
    assert client.get(f"/don-vi/{other}", headers={"Authorization": f"Bearer {token_for(maker, other)}"}).status_code == 200
    assert client.get(f"/don-vi/{unit}", headers={"Authorization": f"Bearer {token_for(maker, unit)}"}).status_code == 200


def test_the_unit_page_shows_its_open_cycle_with_both_deadlines_and_the_legal_wording(portal, samples):
    client, maker = portal
    unit = samples[0].unit_id
    enter(client, maker, unit, obligation_id=OB, cycle_key=CYCLE)
    page = client.get(f"/don-vi/{unit}")
    assert page.status_code == 200
    card = re.search(rf'<div class="card" id="{OB}-{CYCLE}".*?</div>', page.text, re.S).group(0)
    assert 'data-state="not_yet_due"' in card
    assert "trước ngày 15/11/2019" in card and "hết ngày 14/11/2019" in card  # as written, and effective
    assert "Định kỳ hàng năm, trước ngày 15 tháng 11" in card and "1541/QĐ-BHXH" in card
    assert f"/don-vi/{unit}/mau/{OB}/{CYCLE}" in card and 'name="csrf"' in card


def test_the_pre_filled_template_is_the_units_own(portal, samples):
    client, maker = portal
    unit, other = samples[0].unit_id, samples[1].unit_id
    enter(client, maker, unit)
    response = client.get(f"/don-vi/{unit}/mau/{OB}/{CYCLE}")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="{OB}__{CYCLE}__{unit}.xlsx"'
    wb = load_workbook(io.BytesIO(response.content))
    info = {row[0].value: row[1].value for row in wb["Thông tin"].iter_rows()}
    assert (info["Mã đơn vị"], info["Mã báo cáo"], info["Kỳ báo cáo"]) == (unit, OB, CYCLE)
    assert client.get(f"/don-vi/{other}/mau/{OB}/{CYCLE}").status_code == 403
    assert client.get(f"/don-vi/{unit}/mau/{OB}/2031").status_code == 404
    assert client.get(f"/don-vi/{unit}/mau/khong_co/{CYCLE}").status_code == 404


def test_an_upload_gives_a_receipt_at_once_and_by_mail(portal, samples, pki):
    client, maker = portal
    sample = samples[0]
    enter(client, maker, sample.unit_id, obligation_id=OB, cycle_key=CYCLE)
    page = client.get(f"/don-vi/{sample.unit_id}")
    data, files = form(sample, pki, csrf=csrf_of(page.text))
    files["appendix"] = ("../../../etc/" + sample.path.name, sample.content, "text/html")  # a name is only a label
    response = client.post(f"/don-vi/{sample.unit_id}/nop", data=data, files=files)
    assert response.status_code == 200, response.text
    number = re.search(r'data-number="([^"]+)"', response.text).group(1)
    assert 'data-status="accepted"' in response.text and 'data-signature="valid"' in response.text
    assert "Nguyễn Văn An" in response.text and "nhận trong hạn" in response.text
    import hashlib

    for content in (sample.content, pki.signed):
        assert hashlib.sha256(content).hexdigest() in response.text
    assert sample.path.name in response.text and "/etc/" not in response.text
    assert "10:00:00 ngày 06/11/2019" in response.text  # the server's clock, in Vietnam time
    with maker() as session:
        sub = session.scalar(select(Submission))
        assert sub.unit_id == sample.unit_id and sub.received_at == NOW and sub.status == "accepted"
        mail = session.scalar(select(OutboxMessage))
        assert mail.recipient == sample.email and number in mail.subject and hashlib.sha256(pki.signed).hexdigest() in mail.body
    # the receipt stays readable, and the history lists the version with its state
    assert client.get(f"/don-vi/{sample.unit_id}/bien-nhan/{number}").status_code == 200
    history = client.get(f"/don-vi/{sample.unit_id}").text
    assert f'data-receipt="{number}"' in history and "Hợp lệ, đúng hạn" in history
    # another unit cannot read it
    other = samples[1].unit_id
    assert client.get(f"/don-vi/{other}/bien-nhan/{number}", headers={"Authorization": f"Bearer {token_for(maker, other)}"}).status_code == 404


def test_forms_need_their_csrf_token_and_the_portals_origin(portal, samples, pki):
    client, maker = portal
    sample = samples[0]
    enter(client, maker, sample.unit_id)
    csrf = csrf_of(client.get(f"/don-vi/{sample.unit_id}").text)
    data, files = form(sample, pki, csrf="forged")
    assert client.post(f"/don-vi/{sample.unit_id}/nop", data=data, files=files).status_code == 403
    data, files = form(sample, pki, csrf=csrf)
    assert client.post(f"/don-vi/{sample.unit_id}/nop", data=data, files=files, headers={"Origin": "https://evil.example"}).status_code == 403
    with maker() as session:
        assert session.scalar(select(Submission)) is None


def test_json_receipt_and_the_same_upload_twice(portal, samples, pki):
    client, maker = portal
    sample = samples[1]
    headers = {"Authorization": f"Bearer {token_for(maker, sample.unit_id)}", "Accept": "application/json"}
    data, files = form(sample, pki, csrf="", upload_id="k" * 32, document=pki.tampered)
    first = client.post(f"/don-vi/{sample.unit_id}/nop", data=data, files=files, headers=headers)
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["receipt_number"].startswith("BN2019-") and receipt["received_at"] == "2019-11-06T03:00:00+00:00"
    assert receipt["status"] == "accepted" and receipt["signature"]["state"] == "modified"  # recommended: shown, not an error
    assert [(f["role"], f["size"]) for f in receipt["files"]] == [("appendix", len(sample.content)), ("document", len(pki.tampered))]
    again = client.post(f"/don-vi/{sample.unit_id}/nop", data=data, files=files, headers=headers)
    assert again.status_code == 200 and again.json()["receipt_number"] == receipt["receipt_number"]
    with maker() as session:
        assert len(list(session.scalars(select(Parcel)))) == 1 and len(list(session.scalars(select(OutboxMessage)))) == 1


def test_a_unit_sends_only_its_own_reports(portal, samples, pki):
    client, maker = portal
    mine, theirs = samples[2], samples[3]
    headers = {"Authorization": f"Bearer {token_for(maker, mine.unit_id, obligation_id=OB, cycle_key=CYCLE)}", "Accept": "application/json"}
    data, files = form(theirs, pki, csrf="")  # another unit's workbook, sent with my link
    response = client.post(f"/don-vi/{mine.unit_id}/nop", data=data, files=files, headers=headers)
    assert response.status_code == 201
    assert response.json()["unit"] == mine.unit_id and response.json()["status"] == "rejected"  # filed under mine, refused
    data, files = form(mine, pki, csrf="", cycle="2020")
    assert client.post(f"/don-vi/{mine.unit_id}/nop", data=data, files=files, headers=headers).status_code == 403  # not its link's cycle
    data, files = form(mine, pki, csrf="")
    assert client.post(f"/don-vi/{theirs.unit_id}/nop", data=data, files=files, headers=headers).status_code == 403


def test_uploads_are_bounded(portal, samples, pki, monkeypatch):
    from bhxh.portal import uploads

    client, maker = portal
    sample = samples[0]
    headers = {"Authorization": f"Bearer {token_for(maker, sample.unit_id)}", "Accept": "application/json"}
    url = f"/don-vi/{sample.unit_id}/nop"
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 64 * 1024)
    data, files = form(sample, pki, csrf="", document=b"%PDF-1.7\n" + b"0" * 100_000)
    assert client.post(url, data=data, files=files, headers=headers).status_code == 413  # declared length over the cap

    def chunks():  # no Content-Length: the stream is cut as it passes the cap
        yield b"--b\r\nContent-Disposition: form-data; name=\"appendix\"; filename=\"a.xlsx\"\r\n\r\n"
        for _ in range(100):
            yield b"0" * 4096

    streamed = client.post(url, content=chunks(), headers=headers | {"Content-Type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413
    data, files = form(sample, pki, csrf="")
    files["document"] = ("anh.jpg", b"\xff\xd8\xff\xe0 jpeg", "image/jpeg")
    assert client.post(url, data=data, files=files, headers=headers).status_code == 400
    only_document = {"document": ("bc.pdf", pki.signed, "application/pdf")}
    no_appendix = client.post(url, data=data, files=only_document, headers=headers)
    assert no_appendix.status_code == 400 and no_appendix.json()["code"] == "no_appendix"
    assert client.post(url, json={"x": 1}, headers=headers).status_code == 415
    with maker() as session:
        assert session.scalar(select(Submission)) is None


def test_calls_for_reports_carry_each_units_own_link(store, samples):
    from bhxh.calendar.catalogue import default_catalogue
    from bhxh.calendar.units import default_registry
    from bhxh.notify.reminders import cycle_window, messages_due

    _url, maker = store
    catalogue = default_catalogue()
    call_day = cycle_window(catalogue.get(OB), catalogue.cycle(OB, CYCLE)).call_day
    with maker() as session:
        messages = messages_due(call_day, catalogue=catalogue, registry=default_registry(), session=session, today=call_day,
                                links=links.UnitLinks(session, SETTINGS))
        calls = {m.unit_id: m for m in messages if m.kind == "call" and m.obligation_id == OB and m.channel == "email"}
        chats = [m for m in messages if m.channel == "chat"]
        unit = samples[0].unit_id
        link = re.search(r"http://testserver/vao\?t=(\S+)", calls[unit].body).group(1)
        grant = links.verify(SETTINGS, link, session)
    assert (grant.unit_id, grant.obligation_id, grant.cycle_key) == (unit, OB, CYCLE)
    assert all("/vao?t=" not in m.body for m in chats)  # a credential never goes to a chat channel

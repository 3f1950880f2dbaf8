"""The unit portal end to end, in Debian's headless Chromium: the call for reports goes out through the outbox to
the loopback SMTP server; the unit's personal link is taken from the mail it received; Chromium opens it, sees
the unit's open cycle, uploads the signed PDF (signed in the test under a throw-away CA the portal trusts) and
the data appendix in one form, and gets the receipt; the receipt also arrives by mail; and the status board's
own computation (bhxh.reports.status.status_matrix, what plugins/status_board.py renders) shows the unit on time,
before and after the cycle run's validation. The board's page itself needs an Airflow api-server and is checked
by test_status_board.py; here the store state it reads is asserted. Screenshots in out/test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import threading
import time
from pathlib import Path

import pytest
from test_status_board import ARTIFACTS, CHROMIUM, Chromium

from bhxh.devservers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OB, CYCLE = "nq51_action_programme", "2019"
VN = dt.timezone(dt.timedelta(hours=7))
UPLOADED_AT = dt.datetime(2019, 11, 6, 10, 15, tzinfo=VN)  # the portal's clock: before the deadline (end of 14/11/2019)


class PortalServer:
    """The portal's app under uvicorn in a thread of the test (so the test sets its clock)."""

    def __init__(self, app, port: int) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> PortalServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the portal did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def mails_to(sink, address: str) -> list[email.message.EmailMessage]:
    out = []
    for path in sink.messages():
        if address in Path(str(path) + ".rcpt").read_text(encoding="utf-8").split():
            out.append(email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
    return out


def body_of(msg) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part else ""


def test_link_from_the_call_upload_receipt_and_board(tmp_path, mail_sink, monkeypatch):
    if not Path(CHROMIUM).exists():
        pytest.fail("THIẾU / MISSING: chromium (/usr/bin/chromium): run scripts/install_chromium.sh (make test does)")
    from sqlalchemy import select

    from bhxh import devpki
    from bhxh.calendar.catalogue import default_catalogue
    from bhxh.calendar.expected import plan_cycle
    from bhxh.calendar.units import default_registry
    from bhxh.cli.sample import generate
    from bhxh.intake.links import portal_settings
    from bhxh.intake.signatures import TrustRoots
    from bhxh.notify.reminders import cycle_window
    from bhxh.portal.app import create_app
    from bhxh.reports.status import status_matrix
    from bhxh.steps.cycle import validate_unit
    from bhxh.steps.delivery import deliver
    from bhxh.steps.reminders import enqueue_reminders
    from bhxh.store.engine import init_store, session_factory
    from bhxh.store.models import Submission

    store = init_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    port = free_port()
    monkeypatch.setenv("BHXH_PORTAL_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("BHXH_PORTAL_SECRET", "e2e-" + tmp_path.name)
    channels = {"email": [f"mailto://127.0.0.1:{mail_sink.port}?from=baocao@vss.example&name=He thong bao cao BHXH"]}
    registry, catalogue = default_registry(), default_catalogue()

    # 1. the call for reports of the 2019 cycle, on its call day, through the outbox to the loopback SMTP server
    call_day = cycle_window(catalogue.get(OB), catalogue.cycle(OB, CYCLE)).call_day
    enqueue_reminders(dt.datetime.combine(call_day, dt.time(8), VN), store, include_past=True)
    deliver(store, channels, channel="email", obligation_id=OB, cycle_key=CYCLE)
    sample = next(s for s in generate(tmp_path / "samples", OB, CYCLE) if s.scenario == "on_time" and s.path.endswith(".xlsx"))
    unit = registry.get(sample.unit_id)
    calls = [m for m in mails_to(mail_sink, unit.email) if "Đề nghị gửi báo cáo" in m["Subject"]]
    assert len(calls) == 1, [m["Subject"] for m in mails_to(mail_sink, unit.email)]
    link = re.search(r"http://127\.0\.0\.1:\d+/vao\?t=\S+", body_of(calls[0])).group(0)

    # 2. the signed report: a PDF signed under a CA the portal trusts
    ca = devpki.make_ca("BHXH Test Root CA")
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "ca.pem").write_bytes(ca.pem)
    signed = tmp_path / "Bao cao co chu ky so.pdf"
    signed.write_bytes(devpki.sign_pdf(devpki.simple_pdf("BAO CAO NQ51 2019"), devpki.make_signer(ca, org=unit.name)))

    app = create_app(store_url=store, settings=portal_settings(), clock=lambda: UPLOADED_AT, trust=TrustRoots(tmp_path / "trust"))
    browser = Chromium(tmp_path / "chromium-profile")
    try:
        with PortalServer(app, port):
            browser.open_tab(1280, 1000)
            assert browser.navigate(link) == 200  # /vao sets the cookie and sends the browser to the unit's page
            assert browser.evaluate("location.pathname") == f"/don-vi/{unit.id}"
            card = f"#{OB}-{CYCLE}"
            assert browser.evaluate(f"document.querySelector('{card}').dataset.state") == "not_yet_due"
            page_text = browser.evaluate("document.body.innerText")
            browser.screenshot(ARTIFACTS / "portal_unit.png")
            # 3. the upload: the signed PDF and the appendix in one form
            root = browser.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
            for name, path in (("document", signed), ("appendix", Path(sample.path))):
                node = browser.send("DOM.querySelector", {"nodeId": root, "selector": f"{card} input[name={name}]"})["nodeId"]
                browser.send("DOM.setFileInputFiles", {"nodeId": node, "files": [str(path)]})
            browser._events.clear()
            browser.evaluate(f"document.querySelector('{card} form.upload').requestSubmit()")
            browser.wait_event("Page.loadEventFired", 60)
            receipt = browser.evaluate("JSON.stringify(document.querySelector('#receipt').dataset)")
            receipt_text = browser.evaluate("document.body.innerText")
            browser.screenshot(ARTIFACTS / "portal_receipt.png")
            history = browser.navigate(f"http://127.0.0.1:{port}/don-vi/{unit.id}")
            history_text = browser.evaluate("document.querySelector('#history').innerText")
            browser.screenshot(ARTIFACTS / "portal_history.png")
    finally:
        browser.close()
    import json

    receipt = json.loads(receipt)
    assert "Định kỳ hàng năm, trước ngày 15 tháng 11" in page_text and "14/11/2019" in page_text and "15/11/2019" in page_text
    assert receipt["status"] == "accepted" and receipt["signature"] == "valid", receipt_text
    number = receipt["number"]
    assert number.startswith("BN2019-") and "10:15:00 ngày 06/11/2019" in receipt_text and "Nguyễn Văn An" in receipt_text
    assert Path(sample.path).name in receipt_text and signed.name in receipt_text
    assert history == 200 and number in history_text and "Hợp lệ, đúng hạn" in history_text

    # 4. the receipt by mail, through the outbox
    deliver(store, channels, channel="email", obligation_id=OB, cycle_key=CYCLE)
    receipts = [m for m in mails_to(mail_sink, unit.email) if number in m["Subject"]]
    assert len(receipts) == 1 and "GIẤY BIÊN NHẬN" in body_of(receipts[0])

    # 5. the status board's matrix: on time from the submission, then from the cycle run's validation
    maker = session_factory(store)
    until = dt.date(2019, 11, 20)
    with maker() as session:
        sub = session.scalar(select(Submission).where(Submission.unit_id == unit.id))
        assert sub.received_at == UPLOADED_AT and sub.document_sha256
        cell = status_matrix(session, OB, until=until, registry=registry, catalogue=catalogue).rows
        cell = next(r for r in cell if r.unit_id == unit.id).cells[CYCLE]
        assert (cell.state, cell.checked, cell.submission_id) == ("on_time", False, sub.id)
    with maker() as session, session.begin():
        assert validate_unit(session, plan_cycle(OB, CYCLE), unit.id).state == "on_time"
    with maker() as session:
        rows = status_matrix(session, OB, until=until, registry=registry, catalogue=catalogue).rows
        cell = next(r for r in rows if r.unit_id == unit.id).cells[CYCLE]
        assert (cell.state, cell.checked) == ("on_time", True)

"""Fixtures of the channel tests: a store, a throw-away PKI with signed PDFs (one tampered after signing, one
signed under an untrusted CA), the demo's sample appendices for the 2019 Resolution 51 cycle, and a real Dovecot
on loopback (scripts/install_dovecot.sh installs it; `make test` runs that script)."""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from bhxh import devpki

OB, CYCLE = "nq51_action_programme", "2019"


@dataclass(frozen=True)
class Pki:
    ca: devpki.Authority
    pdf: bytes
    signed: bytes
    tampered: bytes
    untrusted: bytes

    @property
    def roots(self) -> tuple[bytes, ...]:
        return (self.ca.der,)


@pytest.fixture(scope="session")
def pki() -> Pki:
    ca = devpki.make_ca()
    pdf = devpki.simple_pdf("BAO CAO thuc hien Nghi quyet 51", pages=2)
    signed = devpki.sign_pdf(pdf, devpki.make_signer(ca))
    untrusted = devpki.sign_pdf(pdf, devpki.make_signer(devpki.make_ca("Untrusted CA"), cn="Kẻ Giả Mạo"))
    return Pki(ca, pdf, signed, devpki.tamper_after_signing(signed), untrusted)


@dataclass(frozen=True)
class Sample:
    unit_id: str
    path: Path
    email: str

    @property
    def content(self) -> bytes:
        return self.path.read_bytes()


@pytest.fixture(scope="session")
def samples(tmp_path_factory) -> list[Sample]:
    """Valid on-time XLSX appendices of the 2019 cycle (with their task sheets), with each unit's registered address."""
    from bhxh.calendar.units import default_registry
    from bhxh.cli.sample import generate

    folder = tmp_path_factory.mktemp("samples")
    registry = default_registry()
    out = []
    for item in generate(folder, OB, CYCLE):
        if item.scenario == "on_time" and item.path.endswith(".xlsx"):
            out.append(Sample(item.unit_id, Path(item.path), registry.get(item.unit_id).email))
    assert len(out) >= 6
    return out


@pytest.fixture(scope="session")
def invalid_sample(tmp_path_factory) -> Path:
    from bhxh.cli.sample import generate

    folder = tmp_path_factory.mktemp("invalid")
    return next(Path(i.path) for i in generate(folder, OB, CYCLE) if i.scenario == "invalid:percent_over_100")


@pytest.fixture
def store(tmp_path):
    from bhxh.store.engine import init_store, session_factory

    url = init_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    return url, session_factory(url)


def message(sender: str, attachments: list[tuple[str, bytes]], *, message_id: str | None = None, subject: str = "Báo cáo",
            date: dt.datetime | None = None) -> bytes:
    """A message as a unit's mail client writes it (the Date header is the sender's to set)."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "khth.khdt@vss.gov.vn"
    m["Subject"] = subject
    m["Date"] = email.utils.format_datetime(date or dt.datetime.now(dt.UTC))
    if message_id is not False:
        m["Message-ID"] = message_id or email.utils.make_msgid(domain="donvi.test")
    m.set_content("Kính gửi Vụ Kế hoạch và Đầu tư,\nĐơn vị gửi báo cáo kèm theo.\n")
    for name, data in attachments:
        m.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return m.as_bytes()


@pytest.fixture
def dovecot():
    from bhxh.devmailbox import Dovecot

    with Dovecot() as server:
        yield server

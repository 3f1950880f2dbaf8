"""Fixtures of the document tests: consolidated cycles from a real store (the 2019 demo cycle of 82 units, ingested
from the demo's sample files; the Đắk Lắk cycle with targets and a previous cycle), and a throw-away PKI for
the signature."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from docs_helpers import consolidated

DEMO_OB, DEMO_KEY = "nq51_action_programme", "2019"
DAK_OB, DAK_KEY = "nq28_dak_lak_units", "2020"


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> str:
    """The 2019 Resolution 51 cycle as the demo leaves it: the sample files ingested, every unit validated."""
    from bhxh.calendar.expected import plan_cycle
    from bhxh.cli.sample import generate
    from bhxh.intake.submission import ingest
    from bhxh.steps.cycle import validate_unit
    from bhxh.store.engine import init_store, session_factory

    tmp = tmp_path_factory.mktemp("demo_store")
    url = f"sqlite:///{tmp / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    with maker() as session, session.begin():
        for item in generate(tmp / "inbox", DEMO_OB, DEMO_KEY):
            path = Path(item.path)
            ingest(session, path.read_bytes(), path.name, dt.datetime.fromisoformat(item.received_at))
    plan = plan_cycle(DEMO_OB, DEMO_KEY)
    with maker() as session, session.begin():
        for unit in plan.units:
            validate_unit(session, plan, unit.id)
    return url


@pytest.fixture
def demo_cycle(demo_store):
    """(consolidation, comparison) of the 2019 demo cycle; a fresh copy for each test."""
    return consolidated(demo_store, DEMO_OB, DEMO_KEY)


@pytest.fixture(scope="session")
def dak_store(tmp_path_factory) -> str:
    from test_comparison import DATA, seed_store

    from bhxh.store.engine import init_store, session_factory

    url = f"sqlite:///{tmp_path_factory.mktemp('dak') / 'store.sqlite'}"
    init_store(url)
    with session_factory(url)() as session, session.begin():
        seed_store(session, DATA, DAK_OB)
    return url


@pytest.fixture
def dak_cycle(dak_store):
    """(consolidation, comparison) of the Đắk Lắk units' 2020 cycle: targets (2021) and a previous cycle."""
    return consolidated(dak_store, DAK_OB, DAK_KEY)


@dataclass
class Pki:
    ca_pem: bytes
    p12: bytes
    passphrase: str
    signer: str
    other_p12: bytes  # a signer certified by a CA nobody trusts


def _name(cn: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _p12(ca_key, ca_cert, cn: str, passphrase: str) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        b"signer", key, cert, [ca_cert], serialization.BestAvailableEncryption(passphrase.encode())
    )


@pytest.fixture(scope="session")
def pki() -> Pki:
    """A throw-away CA and a signer's PKCS#12, plus a signer from an untrusted CA."""
    from cryptography.hazmat.primitives import serialization

    ca_key, ca_cert = _ca("BHXH Test Root CA")
    other_key, other_cert = _ca("Untrusted CA")
    return Pki(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        p12=_p12(ca_key, ca_cert, "Nguyễn Văn An", "mật-khẩu"),
        passphrase="mật-khẩu",  # noqa: S106 - a throw-away test certificate
        signer="Nguyễn Văn An",
        other_p12=_p12(other_key, other_cert, "Kẻ Giả Mạo", "x1"),
    )

"""A throw-away PKI for the tests, the benchmarks and trying the portal out: a root CA, signers' certificates,
a small PDF and a PAdES signature on it with pyHanko. Nothing here is used by the domain: a real deployment
trusts the national root CA (see bhxh.intake.signatures) and units sign with their own tokens.

    python -m bhxh.devpki DIR      writes ca.pem (put it in $BHXH_TRUST_DIR), signer.p12 and signed.pdf
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

P12_PASSWORD = b"bhxh-test"


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _usage(*, sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not sign, content_commitment=not sign, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=sign, crl_sign=sign, encipher_only=False, decipher_only=False,
    )


@dataclass(frozen=True)
class Authority:
    """A root CA able to issue signers' certificates."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class Signer:
    """A signer's key and certificate, with the CA that issued it, as a PKCS#12 bundle for pyHanko."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    issuer: Authority

    @property
    def p12(self) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"signer", self.key, self.cert, [self.issuer.cert], serialization.BestAvailableEncryption(P12_PASSWORD)
        )


def make_ca(cn: str = "BHXH Test Root CA") -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn, "BHXH Test")).issuer_name(_name(cn, "BHXH Test"))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, cert)


def make_signer(ca: Authority, cn: str = "Nguyễn Văn An", org: str = "Bảo hiểm xã hội tỉnh Yên Bái") -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn, org)).issuer_name(ca.cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return Signer(key, cert, ca)


def simple_pdf(text: str = "BAO CAO - Report", pages: int = 1) -> bytes:
    """A small valid PDF (A4, Helvetica, ASCII text), written by hand with a correct cross-reference table."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    font = 3 + 2 * pages
    for i in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 16 Tf 72 770 Td ({safe} - {i + 1}) Tj ET".encode("latin-1", "replace")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def sign_pdf(pdf: bytes, signer: Signer, *, field: str = "ChuKySo1", reason: str = "Ký báo cáo") -> bytes:
    """The PDF signed (PAdES B-B, invisible field, SHA-256) by `signer` as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    simple = signers.SimpleSigner.load_pkcs12_data(signer.p12, other_certs=[], passphrase=P12_PASSWORD)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(field_name=field, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256", reason=reason)
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=simple).sign_pdf(writer, output=out)
    return out.getvalue()


def tamper_after_signing(signed: bytes) -> bytes:
    """One byte of the signed content changed (the page's text), as someone editing the file afterwards would."""
    data = bytearray(signed)
    at = data.find(b"BAO CAO")
    if at < 0:
        at = data.find(b"stream", 100) + 10
    data[at] ^= 0x01
    return bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bhxh.devpki", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    ca = make_ca()
    signer = make_signer(ca)
    (args.dir / "ca.pem").write_bytes(ca.pem)
    (args.dir / "signer.p12").write_bytes(signer.p12)
    (args.dir / "signed.pdf").write_bytes(sign_pdf(simple_pdf(), signer))
    print(f"{args.dir}/ca.pem, signer.p12 (password {P12_PASSWORD.decode()}), signed.pdf")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Signed documents checked with pyHanko against trust roots of our own: PDFs signed in the test with a throw-away
CA, one changed after signing, one signed under a CA nobody trusts, and the bounds of the check (a sandboxed
child process with a time limit)."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from bhxh.intake.sandbox import Sandbox, SandboxCrash, SandboxTimeout
from bhxh.intake.signatures import (
    MAX_DOCUMENT_BYTES,
    STATE_TEXT,
    SignatureCheck,
    TrustRoots,
    check_document,
    load_trust_roots,
    signature_problems,
)


def test_a_signature_from_a_trusted_ca_is_valid_with_its_signer(pki):
    check = check_document(pki.signed, "pdf", pki.roots)
    assert check.state == "valid", check
    signer = check.signer
    assert signer.name == "Nguyễn Văn An" and signer.organisation == "Bảo hiểm xã hội tỉnh Yên Bái"
    assert signer.intact and signer.valid and signer.trusted and signer.whole_file
    assert signer.signing_time is not None and signer.signing_time.tzinfo is not None


def test_a_pdf_changed_after_signing_is_modified(pki):
    check = check_document(pki.tampered, "pdf", pki.roots)
    assert check.state == "modified"
    assert check.signer.intact is False


def test_an_incremental_update_after_signing_is_modified(pki):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pki.signed))
    forged = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 400 Td (DA SUA) Tj ET"))
    writer.add_stream_to_page(0, forged)
    out = io.BytesIO()
    writer.write(out)
    check = check_document(out.getvalue(), "pdf", pki.roots)
    assert check.state == "modified"
    assert check.signer.intact is True and check.signer.whole_file is False  # the signed bytes are intact, but more came after


def test_a_signer_under_an_untrusted_ca_is_untrusted(pki):
    check = check_document(pki.untrusted, "pdf", pki.roots)
    assert check.state == "untrusted"
    assert check.signer.name == "Kẻ Giả Mạo" and check.signer.intact and not check.signer.trusted
    # with no trust roots configured, even our own CA's signature is not trusted (no fallback to the OS store)
    assert check_document(pki.signed, "pdf", ()).state == "untrusted"


def test_unsigned_unreadable_and_too_large(pki):
    assert check_document(pki.pdf, "pdf", pki.roots).state == "unsigned"
    broken = check_document(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "pdf", pki.roots)
    assert broken.state == "unreadable" and broken.detail
    assert check_document(b"%PDF-" + b"0" * MAX_DOCUMENT_BYTES, "pdf", pki.roots).state == "too_large"


def test_docx_signatures_are_noticed_not_checked():
    def docx(*names: str) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name in ("[Content_Types].xml", "word/document.xml", *names):
                zf.writestr(name, "<x/>")
        return buf.getvalue()

    assert check_document(docx(), "docx", ()).state == "unsigned"
    assert check_document(docx("_xmlsignatures/sig1.xml", "_xmlsignatures/origin.sigs"), "docx", ()).state == "not_checked"
    assert check_document(b"PK\x03\x04 not a zip", "docx", ()).state == "unreadable"


def test_the_check_is_bounded_in_time():
    box = Sandbox()
    try:
        started = time.monotonic()
        with pytest.raises(SandboxTimeout):
            box.run("time:sleep", (30,), timeout=0.5)
        assert time.monotonic() - started < 5
        # the helper survives a killed child and goes on answering
        assert box.run("bhxh.intake.signatures:check_pdf_safely", (b"%PDF-1.4 nothing", ()), timeout=20)["state"] == "unreadable"
        with pytest.raises(SandboxCrash):  # a child that dies without answering
            box.run("os:abort", (), timeout=10)
    finally:
        box.close()


def test_checks_run_concurrently_in_the_sandbox(pki):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        states = list(pool.map(lambda data: check_document(data, "pdf", pki.roots).state, [pki.signed, pki.tampered, pki.untrusted, pki.pdf] * 4))
    assert states == ["valid", "modified", "untrusted", "unsigned"] * 4


def test_trust_roots_from_a_folder(tmp_path, pki):
    from bhxh import devpki

    other = devpki.make_ca("Second Root")
    (tmp_path / "root.pem").write_bytes(pki.ca.pem + other.pem)  # a bundle of two
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "broken.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    roots = load_trust_roots(tmp_path)
    assert roots == (pki.ca.der, other.der)
    trust = TrustRoots(tmp_path / "later")
    assert trust.get() == ()  # no folder yet: nothing is trusted
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "ca.der").write_bytes(pki.ca.der)
    assert trust.get() == (pki.ca.der,)  # picked up when the folder changes


@pytest.mark.parametrize("state", sorted(set(STATE_TEXT) - {"valid"}))
def test_a_required_signature_missing_or_broken_is_an_error_with_its_reason(state):
    problems = signature_problems("required", SignatureCheck(state))
    assert [p.code for p in problems] == [f"signature_{state}"]
    assert problems[0].message_vi and problems[0].message_en and problems[0].message_vi != problems[0].message_en
    assert signature_problems("recommended", SignatureCheck(state)) == []
    assert signature_problems("not_asked", SignatureCheck(state)) == []
    assert signature_problems("required", SignatureCheck("valid")) == []


def test_a_check_that_prints_cannot_break_the_sandbox():
    box = Sandbox()
    try:
        assert box.run("builtins:print", ("noise on stdout",), timeout=10) is None
        assert box.run("builtins:len", ("abc",), timeout=10) == 3
    finally:
        box.close()

"""Signed documents ("văn bản có chữ ký số"): the signed report a unit sends beside its data appendix. The file is
kept byte for byte (bhxh.intake.parcels); here its signatures are checked with pyHanko: a signature present, the
document unchanged since it was signed, the signer's name and signing time, and the certificate chain against
the trust roots the operator configures (the folder $BHXH_TRUST_DIR, default trust/, see its README: in
production the root CA of Vietnam's national digital-signature service; in the tests a throw-away CA).

pyHanko reads a hostile file: each check runs in a child process of bhxh.intake.sandbox (forked from a helper
that has pyHanko loaded) with a time limit and an address-space limit, so a PDF built to make the parser spin
or swell costs at most CHECK_SECONDS and never the caller's memory. Revocation is not fetched (no network from
the workers): certificates are checked offline, revocation soft-fail. A DOCX signature (XML-DSig) is noticed,
not checked.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bhxh import PROJECT_ROOT
from bhxh.intake.limits import MAX_FILE_BYTES
from bhxh.intake.problems import Problem, problem

CHECK_SECONDS = 20.0  # a genuine report of a few pages validates in well under a second
MAX_DOCUMENT_BYTES = MAX_FILE_BYTES  # the intake's limit for any file
MAX_SIGNATURES = 20
POLICIES = ("required", "recommended", "not_asked")

# state -> (Vietnamese, English), as the receipt, the portal and the status board show it
STATE_TEXT = {
    "valid": ("Chữ ký số hợp lệ, văn bản không bị thay đổi sau khi ký", "Valid digital signature, unchanged since signed"),
    "unsigned": ("Văn bản không có chữ ký số", "The document has no digital signature"),
    "modified": ("Văn bản đã bị thay đổi sau khi ký", "The document was changed after it was signed"),
    "invalid": ("Chữ ký số không hợp lệ", "The digital signature is not valid"),
    "untrusted": ("Chứng thư số của người ký không do tổ chức chứng thực được tin cậy cấp", "The signer's certificate is not from a trusted certification authority"),
    "unreadable": ("Không đọc được tệp PDF", "The PDF file could not be read"),
    "too_large": ("Tệp quá lớn để kiểm tra chữ ký", "The file is too large to check"),
    "timeout": ("Không kiểm tra xong chữ ký trong thời gian cho phép", "The signature check did not finish in time"),
    "not_checked": ("Tệp DOCX có chữ ký; hệ thống chưa kiểm tra được chữ ký trên DOCX", "A signed DOCX; signatures on DOCX are not checked"),
    "absent": ("Không gửi kèm báo cáo có chữ ký", "No signed report was sent"),
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignerInfo:
    """One signature of the document: who signed (the certificate's common name and organisation), when the
    signer says it signed (the signingTime attribute: the signer's claim, not a timestamp authority's)."""

    field: str
    name: str | None
    organisation: str | None
    signing_time: dt.datetime | None
    intact: bool
    valid: bool
    trusted: bool
    whole_file: bool  # the signature covers the file as it came (nothing appended after it)
    changes_allowed: bool  # later revisions, if any, only add signatures or fill forms

    def as_dict(self) -> dict:
        return {**self.__dict__, "signing_time": self.signing_time.isoformat() if self.signing_time else None}


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on a signed document: `state` (a key of STATE_TEXT), the signatures found, a technical detail."""

    state: str
    signers: tuple[SignerInfo, ...] = ()
    detail: str | None = None
    kind: str | None = None  # pdf | docx | None (no document)

    @property
    def text_vi(self) -> str:
        return STATE_TEXT[self.state][0]

    @property
    def text_en(self) -> str:
        return STATE_TEXT[self.state][1]

    @property
    def signer(self) -> SignerInfo | None:
        """The last signature (the one covering the whole file)."""
        return self.signers[-1] if self.signers else None

    def as_dict(self) -> dict:
        return {"state": self.state, "kind": self.kind, "detail": self.detail, "signers": [s.as_dict() for s in self.signers]}

    @classmethod
    def from_dict(cls, data: dict) -> SignatureCheck:
        signers = tuple(
            SignerInfo(**{**s, "signing_time": dt.datetime.fromisoformat(s["signing_time"]) if s.get("signing_time") else None})
            for s in data.get("signers", ())
        )
        return cls(data["state"], signers, data.get("detail"), data.get("kind"))


ABSENT = SignatureCheck("absent")


# -- trust roots ------------------------------------------------------------------------------------------
def trust_dir() -> Path:
    return Path(os.environ.get("BHXH_TRUST_DIR") or PROJECT_ROOT / "trust")


def load_trust_roots(folder: Path | None = None) -> tuple[bytes, ...]:
    """The DER bytes of every certificate in the folder's .pem/.crt/.cer/.der files (none if it is missing)."""
    from cryptography import x509

    folder = folder or trust_dir()
    roots: list[bytes] = []
    if not folder.is_dir():
        return ()
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".pem", ".crt", ".cer", ".der") or not path.is_file():
            continue
        data = path.read_bytes()
        try:
            certs = x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else [x509.load_der_x509_certificate(data)]
        except ValueError as exc:
            log.warning("trust root %s skipped: %s", path, exc)
            continue
        from cryptography.hazmat.primitives.serialization import Encoding

        roots += [c.public_bytes(Encoding.DER) for c in certs]
    return tuple(roots)


# -- checking -----------------------------------------------------------------------------------------------
def check_document(content: bytes, kind: str, roots: Sequence[bytes], *, timeout: float = CHECK_SECONDS) -> SignatureCheck:
    """The signature verdict on a document of `kind` (pdf | docx), bounded in size, time and memory."""
    if len(content) > MAX_DOCUMENT_BYTES:
        return SignatureCheck("too_large", kind=kind, detail=f"{len(content)} bytes")
    if kind == "docx":
        return _check_docx(content)
    if kind != "pdf":
        raise ValueError(f"not a signed-document kind: {kind}")
    return _in_child(content, tuple(roots), timeout)


def _check_docx(content: bytes) -> SignatureCheck:
    """A DOCX carries its signatures as XML-DSig parts (_xmlsignatures/); we say whether there are any."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            names = zf.namelist()[:10_000]  # the central directory only: nothing is decompressed
    except (zipfile.BadZipFile, ValueError) as exc:
        return SignatureCheck("unreadable", kind="docx", detail=str(exc)[:200])
    signed = any(n.startswith("_xmlsignatures/") and n.endswith(".xml") and "/sig" in n for n in names)
    return SignatureCheck("not_checked" if signed else "unsigned", kind="docx")


_SANDBOX = None


def _sandbox():
    global _SANDBOX
    if _SANDBOX is None:
        from bhxh.intake.sandbox import Sandbox

        _SANDBOX = Sandbox(preload=("bhxh.intake.signatures", "pyhanko.sign.validation", "pyhanko_certvalidator"))
    return _SANDBOX


def _in_child(content: bytes, roots: tuple[bytes, ...], timeout: float) -> SignatureCheck:
    from bhxh.intake.sandbox import SandboxCrash, SandboxTimeout

    try:
        result = _sandbox().run("bhxh.intake.signatures:check_pdf_safely", (content, roots), timeout)
    except SandboxTimeout:
        return SignatureCheck("timeout", kind="pdf", detail=f"over {timeout:.0f} s")
    except SandboxCrash as exc:  # out of memory, or killed
        return SignatureCheck("unreadable", kind="pdf", detail=str(exc)[:200])
    return SignatureCheck.from_dict({**result, "kind": "pdf"})


def check_pdf_safely(content: bytes, roots: tuple[bytes, ...]) -> dict:
    """check_pdf, with a malformed file's exception turned into an `unreadable` verdict (runs in the sandbox)."""
    try:
        return check_pdf(content, roots)
    except MemoryError:
        return {"state": "unreadable", "detail": "out of memory"}
    except Exception as exc:  # a malformed file: unreadable, with the parser's reason
        return {"state": "unreadable", "detail": f"{type(exc).__name__}: {str(exc)[:300]}"}


def check_pdf(content: bytes, roots: Sequence[bytes]) -> dict:
    """pyHanko's validation of every signature in the PDF, reduced to a verdict (runs in the child process).

    valid: every signature intact, cryptographically valid and trusted, later revisions only adding signatures
    or filling forms, and the last signature covering the whole file as received; otherwise the first thing
    wrong, in that order: modified (changed after signing), invalid, untrusted.
    """
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    for name in ("pyhanko", "pyhanko_certvalidator", "fontTools"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # it logs whole tracebacks for untrusted signers
    reader = PdfFileReader(io.BytesIO(content), strict=False)
    if reader.encrypted:
        return {"state": "unreadable", "detail": "encrypted PDF"}
    signatures = list(reader.embedded_signatures)
    if not signatures:
        return {"state": "unsigned"}
    if len(signatures) > MAX_SIGNATURES:
        return {"state": "unreadable", "detail": f"{len(signatures)} signatures"}
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(r) for r in roots], allow_fetching=False)
    signers = []
    for sig in signatures:
        status = validate_pdf_signature(sig, signer_validation_context=context)
        subject = status.signing_cert.subject.native if status.signing_cert is not None else {}
        when = status.signer_reported_dt
        signers.append({
            "field": str(sig.field_name)[:100],
            "name": _text(subject.get("common_name")),
            "organisation": _text(subject.get("organization_name")),
            "signing_time": when.isoformat() if when else None,
            "intact": bool(status.intact),
            "valid": bool(status.valid),
            "trusted": bool(status.trusted),
            "whole_file": status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
            "changes_allowed": status.docmdp_ok is not False,
        })
    last = signers[-1]
    if not all(s["intact"] and s["changes_allowed"] for s in signers) or not last["whole_file"]:
        state = "modified"
    elif not all(s["valid"] for s in signers):
        state = "invalid"
    elif not all(s["trusted"] for s in signers):
        state = "untrusted"
    else:
        state = "valid"
    return {"state": state, "signers": signers}


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    return str(value)[:200]


# -- the obligation's policy ------------------------------------------------------------------------------
_REQUIRED = {
    "absent": ("Báo cáo này phải gửi kèm văn bản báo cáo có chữ ký số (PDF) cùng phụ lục số liệu.", "This report needs the digitally signed report (PDF) sent with the data appendix."),
    "unsigned": ("Văn bản báo cáo chưa được ký số. Hãy ký số tệp PDF rồi gửi lại cùng phụ lục.", "The report document is not digitally signed. Sign the PDF and send it again with the appendix."),
    "modified": ("Văn bản đã bị sửa sau khi ký số nên chữ ký không còn giá trị. Hãy ký lại bản cuối cùng và gửi lại.", "The document was changed after it was signed, so the signature no longer holds. Sign the final version again and resend."),
    "invalid": ("Chữ ký số trên văn bản không hợp lệ. Hãy ký lại bằng chứng thư số còn hiệu lực và gửi lại.", "The digital signature is not valid. Sign again with a valid certificate and resend."),
    "untrusted": ("Chứng thư số dùng để ký không do tổ chức cung cấp dịch vụ chứng thực chữ ký số được công nhận cấp. Hãy ký bằng chứng thư số hợp lệ.", "The signing certificate is not from a recognised certification authority. Sign with a valid certificate."),
    "unreadable": ("Không đọc được tệp PDF có chữ ký. Hãy xuất lại tệp PDF, ký số và gửi lại.", "The signed PDF could not be read. Export the PDF again, sign it and resend."),
    "too_large": ("Tệp văn bản có chữ ký vượt quá 10 MB. Hãy giảm dung lượng (không quét ảnh độ phân giải cao) rồi ký và gửi lại.", "The signed document is over 10 MB. Make it smaller, sign and resend."),
    "timeout": ("Không kiểm tra xong chữ ký số của tệp PDF. Hãy xuất lại tệp PDF đơn giản hơn, ký và gửi lại.", "The PDF's signature could not be checked in time. Export a simpler PDF, sign and resend."),
    "not_checked": ("Báo cáo này cần văn bản PDF có chữ ký số; chữ ký trên tệp DOCX không kiểm tra được. Hãy gửi bản PDF đã ký số.", "This report needs a digitally signed PDF; a signature on a DOCX cannot be checked. Send the signed PDF."),
}


def signature_problems(policy: str, check: SignatureCheck) -> list[Problem]:
    """An error with its reason when the obligation requires a signature and it is missing or broken."""
    if policy != "required" or check.state == "valid":
        return []
    vi, en = _REQUIRED[check.state]
    return [problem(f"signature_{check.state}", vi, en)]


@dataclass
class TrustRoots:
    """The trust roots, read once per process from the folder (reloaded when the folder changes)."""

    folder: Path = field(default_factory=trust_dir)
    _seen: tuple | None = None
    _roots: tuple[bytes, ...] = ()

    def get(self) -> tuple[bytes, ...]:
        try:
            stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(self.folder.iterdir()))
        except OSError:
            stamp = ()
        if stamp != self._seen:
            self._roots, self._seen = load_trust_roots(self.folder), stamp
        return self._roots

"""The department's digital signature on the PDF ("ký số"): PAdES (ETSI.CAdES.detached) with pyHanko, a visible
signature block where the signer signs (between the signer's title and name, found on the rendered page with
poppler's `pdftotext -bbox-layout`), and the check of a signed PDF.

The certificate is a PKCS#12 the department configures (the Airflow connection `bhxh_signing`: the file as
base64 in the extra `p12_base64` or a path in `p12_path`, its passphrase as the password). Signing is
synchronous (pyHanko's sync wrappers run their own event loop): call it from task code, not from a coroutine.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import logging
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from bhxh.calendar.cycles import TZ
from bhxh.errors import BhxhError
from bhxh.templating import render

FIELD_NAME = "ChuKySo1"
STAMP_PT = 8
BOX_WIDTH_PT = 200.0
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",  # fonts-liberation2 (scripts/install_docs.sh)
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
)
MAX_P12_BYTES = 1024 * 1024


class SigningError(BhxhError):
    """The certificate cannot be read or the PDF cannot be signed."""


@dataclass(frozen=True)
class SigningKey:
    p12: bytes
    passphrase: bytes | None

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.p12).hexdigest()


def load_key(settings: Mapping | None) -> SigningKey | None:
    """The department's key from the signing settings ({"p12_base64" | "p12_path", "passphrase"}); None when no
    certificate is configured."""
    if not settings:
        return None
    data = settings.get("p12_base64")
    path = settings.get("p12_path")
    if not data and not path:
        return None
    if data:
        try:
            p12 = base64.b64decode("".join(str(data).split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SigningError(
                "Chứng thư số (p12_base64) không phải chuỗi base64 hợp lệ.",
                "The certificate (p12_base64) is not valid base64.",
                code="signing_settings",
            ) from exc
    else:
        file = Path(str(path))
        if not file.is_file() or file.stat().st_size > MAX_P12_BYTES:
            raise SigningError(
                f"Không đọc được tệp chứng thư số {file} (không có hoặc lớn quá 1 MB).",
                f"Cannot read the certificate file {file} (missing or over 1 MB).",
                code="signing_settings",
            )
        p12 = file.read_bytes()
    passphrase = settings.get("passphrase")
    return SigningKey(p12, passphrase.encode("utf-8") if isinstance(passphrase, str) and passphrase else None)


def _signer(key: SigningKey):
    from pyhanko.sign import signers

    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)  # it logs a traceback for a wrong passphrase
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(key.p12, other_certs=[], passphrase=key.passphrase)
    except Exception as exc:  # any parse failure means the same to the department
        signer = None
        cause = type(exc).__name__
    else:
        cause = "sai mật khẩu hoặc tệp hỏng / wrong passphrase or damaged file"
    finally:
        logging.getLogger("pyhanko").setLevel(logging.NOTSET)
    if signer is None:
        raise SigningError(
            f"Không mở được chứng thư số PKCS#12 của đơn vị ({cause}).",
            f"Cannot open the department's PKCS#12 certificate ({cause}).",
            code="signing_key",
        )
    return signer


def certificate_name(key: SigningKey) -> str:
    """The signer's name as the certificate gives it (its common name)."""
    cert = _signer(key).signing_cert
    return str(cert.subject.native.get("common_name") or cert.subject.human_friendly)


# -- where the signer signs -------------------------------------------------------------------------------
def _lines(pdf: Path) -> list[tuple[int, float, float, list[tuple[str, float, float, float, float]]]]:
    """(page index, width, height, [(text, x0, y0, x1, y1)] of each line, top-left origin) from pdftotext."""
    proc = subprocess.run(
        ["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        return []
    root = etree.fromstring(proc.stdout, parser=etree.XMLParser(recover=True, huge_tree=False))
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    pages = []
    for index, page in enumerate(root.iterfind(".//h:page", ns)):
        lines = []
        for line in page.iterfind(".//h:line", ns):
            words = [w.text or "" for w in line.iterfind("h:word", ns)]
            box = [float(line.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")]
            lines.append((" ".join(words), *box))
        pages.append((index, float(page.get("width")), float(page.get("height")), lines))
    return pages


def signature_box(pdf: Path, title: str, name: str) -> tuple[int, tuple[float, float, float, float]]:
    """Where the visible signature goes: the blank between the signer's title and name on the page that holds
    the signature block (PDF points, bottom-left origin); the bottom right of the last page if it is not found."""
    pages = _lines(pdf)
    fold = " ".join(title.split()).casefold()
    wanted = " ".join(name.split()).casefold()
    for index, width, height, lines in reversed(pages):
        for i, (text, x0, _y0, x1, y1) in enumerate(lines):
            if text.casefold() != fold:
                continue
            below = [ln for ln in lines[i + 1 :] if ln[0].casefold() == wanted and ln[2] > y1]
            if not below:
                continue
            top = below[0][2]
            centre = (x0 + x1) / 2
            half = min(BOX_WIDTH_PT / 2, centre - 10, width - centre - 10)
            return index, (centre - half, height - top + 2, centre + half, height - y1 - 2)
    index, width, _height, _ = pages[-1] if pages else (0, 595.0, 842.0, [])
    return index, (width - 250, 60, width - 45, 130)


# -- the stamp font -----------------------------------------------------------------------------------------
def stamp_font() -> str:
    """A TrueType font with Vietnamese glyphs rescaled to 1000 units per em: pyHanko 0.38 writes glyph widths in
    raw font units, so a 2048-unit font (Liberation, DejaVu) draws its letters twice as far apart. Built once
    with fontTools into the temporary folder, keyed by the source font's checksum."""
    src = next((p for p in FONT_CANDIDATES if os.path.isfile(p)), None)
    if src is None:
        raise SigningError(
            "Không có phông chữ tiếng Việt cho khung chữ ký (fonts-liberation2). Hãy chạy scripts/install_docs.sh.",
            "No Vietnamese font for the signature stamp (fonts-liberation2). Run scripts/install_docs.sh.",
            code="no_font",
        )
    digest = hashlib.sha256(Path(src).read_bytes()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"bhxh-fonts-{os.getuid()}"
    dst = folder / f"{Path(src).stem}-1000upm-{digest}.ttf"
    if not dst.is_file():
        from fontTools.ttLib import TTFont
        from fontTools.ttLib.scaleUpem import scale_upem

        folder.mkdir(mode=0o700, exist_ok=True)
        font = TTFont(src)
        if font["head"].unitsPerEm != 1000:
            scale_upem(font, 1000)
        partial = dst.with_suffix(f".{os.getpid()}.part")
        font.save(partial)
        os.replace(partial, dst)
    return str(dst)


# -- signing ------------------------------------------------------------------------------------------------
def sign_pdf(
    pdf: bytes,
    key: SigningKey,
    *,
    page: int,
    box: tuple[float, float, float, float],
    issuer: str,
    place: str,
    reason: str = "Ký ban hành báo cáo",
    now: dt.datetime | None = None,
) -> bytes:
    """The PDF signed PAdES with a visible stamp in `box` on `page` (0-based)."""
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import TextStampStyle

    signer = _signer(key)
    name = str(signer.signing_cert.subject.native.get("common_name") or "")
    when = (now or dt.datetime.now(TZ)).astimezone(TZ)
    text = render("reports/signature_stamp.txt.j2", signer=name, issuer=issuer, time=when).strip()
    for noisy in ("fontTools", "fontTools.subset", "pyhanko"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        fields.append_signature_field(
            writer, fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=page, box=tuple(round(v, 2) for v in box))
        )
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=reason,
            location=place,
        )
        style = TextStampStyle(
            stamp_text=text.replace("%", "%%"),
            # the size goes to both the font factory and the box (they drift apart otherwise: pyHanko issue #733)
            text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(stamp_font(), font_size=STAMP_PT), font_size=STAMP_PT),
            border_width=1,
        )
        out = io.BytesIO()
        signers.PdfSigner(meta, signer=signer, stamp_style=style).sign_pdf(writer, output=out)
    except SigningError:
        raise
    except Exception as exc:  # a PDF or certificate pyHanko refuses: say so, bilingual
        raise SigningError(
            f"Không ký số được bản PDF ({type(exc).__name__}: {str(exc)[:200]}).",
            f"The PDF could not be signed ({type(exc).__name__}: {str(exc)[:200]}).",
            code="signing_failed",
        ) from exc
    return out.getvalue()


@dataclass(frozen=True)
class SignatureCheck:
    field: str
    signer: str
    intact: bool
    trusted: bool
    bottom_line: bool
    whole_file: bool
    subfilter: str
    summary: str


def check_signatures(pdf: bytes, trust_roots: Iterable[bytes]) -> list[SignatureCheck]:
    """Every signature of a PDF checked against the given root certificates (PEM or DER), offline."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    roots = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, data in enumerate(trust_roots):
            path = Path(tmp) / f"root{i}.pem"
            path.write_bytes(data)
            roots.append(load_cert_from_pemder(str(path)))
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    out = []
    for sig in PdfFileReader(io.BytesIO(pdf)).embedded_signatures:
        status = validate_pdf_signature(sig, signer_validation_context=context)
        out.append(
            SignatureCheck(
                field=sig.field_name,
                signer=str(status.signing_cert.subject.native.get("common_name")),
                intact=status.intact,
                trusted=status.trusted,
                bottom_line=status.bottom_line,
                whole_file=status.coverage.name == "ENTIRE_FILE",
                subfilter=str(sig.sig_object["/SubFilter"]),
                summary=status.summary(),
            )
        )
    return out

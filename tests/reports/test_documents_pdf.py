"""The consolidated report as its readers see it: the 2019 demo cycle (82 units) rendered to DOCX and through
LibreOffice headless to PDF, page 1 read with `pdftotext -layout`; the PDF signed (PAdES) with a throw-away
certificate and checked with pyHanko; unsigned, and said so, without one; the same cycle written twice gives the
same documents. LibreOffice and poppler come from scripts/install_docs.sh (`make test` runs it)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import subprocess
from pathlib import Path

import pytest
from docs_helpers import consolidated, pdf_pages, pdf_text

from bhxh.reports.documents import render_reports
from bhxh.reports.pdf import ConversionError, convert
from bhxh.reports.signing import check_signatures

SETTINGS = {
    "issuer": {
        "vu_khdt": {
            "signer": {"authority": "KT. VỤ TRƯỞNG", "title": "PHÓ VỤ TRƯỞNG", "name": "Trần Văn Bình"},
            "documents": {"nq51_action_programme/2019": {"number": "125", "date": "2019-11-22"}},
        }
    }
}


def _signing(p12: bytes, passphrase: str) -> dict:
    return {"p12_base64": base64.b64encode(p12).decode(), "passphrase": passphrase}


@pytest.fixture(scope="module")
def issued(tmp_path_factory, demo_store):
    """The demo cycle's documents, issued as number 125 on 22/11/2019, unsigned."""
    cons, comp = consolidated(demo_store, "nq51_action_programme", "2019")
    lines: list[str] = []
    paths = render_reports(cons, tmp_path_factory.mktemp("issued"), comp, settings=SETTINGS, log=lines.append)
    return paths, lines, comp


def test_page_one_reads_as_an_administrative_document(issued):
    paths, _lines, _ = issued
    page1 = pdf_text(paths["pdf"], first=1, last=1)
    lines = [" ".join(line.split()) for line in page1.splitlines()]
    # the national motto and its second line each on one line, beside the issuer; the number and the date line
    assert any(line.endswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") and line.startswith("BẢO HIỂM XÃ HỘI VIỆT NAM") for line in lines)
    assert any(line.endswith("Độc lập - Tự do - Hạnh phúc") and line.startswith("VỤ KẾ HOẠCH VÀ ĐẦU TƯ") for line in lines)
    assert any(line == "Số: 125/BC-KHĐT Hà Nội, ngày 22 tháng 11 năm 2019" for line in lines)
    assert "BÁO CÁO" in lines
    assert "1. Tình hình gửi báo cáo" in lines
    whole = pdf_text(paths["pdf"])
    assert "Nơi nhận:" in whole and "KT. VỤ TRƯỞNG" in whole and "PHÓ VỤ TRƯỞNG" in whole and "Trần Văn Bình" in whole
    assert "- Lưu: VT, KHĐT." in whole


def test_body_of_a_few_pages_with_no_number_split(issued):
    paths, _lines, comp = issued
    assert pdf_pages(paths["pdf"]) <= 4  # 82 units: the data is in the XLSX appendix
    text = pdf_text(paths["pdf"])
    from bhxh.templating import number_vi

    totals = [number_vi(c.value, 1 if i.kind == "percent" else 0) for i, c in
              ((i, comp.totals[i.code]) for i in comp.indicators) if c.value is not None]
    assert len(totals) == 10
    for number in totals:  # each total whole on one line, in its table
        assert re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d.,])", text), number
    # no line ends inside a number or a document number ("18.502.52" / "3", "51/NQ-" / "CP")
    ends = [line.rstrip() for line in text.splitlines() if line.strip()]
    assert [e for e in ends if re.search(r"\d[.,]\d{1,2}$|/[A-ZĐ]+-$", e)] == []
    assert "Bảng 1" in text and "Phụ lục số liệu kèm theo (tệp bao_cao_tong_hop.xlsx)" in text


def test_unsigned_without_a_certificate_and_the_log_says_so(issued):
    from pyhanko.pdf_utils.reader import PdfFileReader

    paths, lines, _ = issued
    with open(paths["pdf"], "rb") as f:
        assert PdfFileReader(io.BytesIO(f.read())).embedded_signatures == []
    assert any("CHƯA KÝ SỐ" in line and "NOT SIGNED" in line and "bhxh_signing" in line for line in lines)


def test_signed_pdf_validates_with_a_visible_signature_where_the_signer_signs(tmp_path, demo_cycle, pki):
    cons, comp = demo_cycle
    lines: list[str] = []
    settings = {**SETTINGS, "signing": _signing(pki.p12, pki.passphrase)}
    paths = render_reports(cons, tmp_path, comp, settings=settings, log=lines.append)
    data = Path(paths["pdf"]).read_bytes()
    (check,) = check_signatures(data, [pki.ca_pem])
    assert check.bottom_line and check.intact and check.trusted and check.whole_file
    assert check.subfilter == "/ETSI.CAdES.detached" and check.signer == pki.signer
    assert any("đã ký số" in line and pki.signer in line for line in lines)
    # the stamp sits between the signer's title and name, on the page of the signature block
    pages = _word_boxes(paths["pdf"])
    page = next(p for p in pages if any(w.startswith("Ký bởi") for w, *_ in p) and any(w == "Bình" for w, *_ in p))
    title_y = max(y for w, _x, y in page if w == "TRƯỞNG")
    name_y = max(y for w, _x, y in page if w == "Bình")  # the last line: "Ninh Bình" may come before
    stamp = next((w, y) for w, _x, y in page if w.startswith("Ký bởi"))
    assert title_y < stamp[1] < name_y and stamp[0] == f"Ký bởi: {pki.signer}"
    assert any(f'chứng thư số là của "{pki.signer}"' in line for line in lines)  # Trần Văn Bình is named
    # an untrusted signer, and a changed byte, do not pass
    other = render_reports(cons, tmp_path / "other", comp, settings={**SETTINGS, "signing": _signing(pki.other_p12, "x1")})
    (untrusted,) = check_signatures(Path(other["pdf"]).read_bytes(), [pki.ca_pem])
    assert untrusted.intact and not untrusted.trusted and not untrusted.bottom_line
    tampered = bytearray(data)
    i = tampered.find(b"stream", 200) + 20
    tampered[i] ^= 0x01
    assert not check_signatures(bytes(tampered), [pki.ca_pem])[0].bottom_line


def _word_boxes(pdf) -> list[list[tuple[str, float, float]]]:
    """(word, x, y from the top) of every word, page by page."""
    from lxml import etree

    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, check=True, timeout=60).stdout
    root = etree.fromstring(out, parser=etree.XMLParser(recover=True))
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    return [
        [(w.text or "", float(w.get("xMin")), float(w.get("yMin"))) for w in page.iterfind(".//h:word", ns)]
        for page in root.iterfind(".//h:page", ns)
    ]


def test_a_wrong_passphrase_is_an_error_a_department_can_act_on(tmp_path, demo_cycle, pki):
    from bhxh.reports.signing import SigningError

    cons, comp = demo_cycle
    with pytest.raises(SigningError) as err:
        render_reports(cons, tmp_path, comp, settings={**SETTINGS, "signing": _signing(pki.p12, "sai")})
    assert "chứng thư số" in err.value.message_vi and "certificate" in err.value.message_en


def test_the_same_cycle_written_twice_gives_the_same_documents(tmp_path, demo_cycle, pki):
    cons, comp = demo_cycle
    settings = {"signing": _signing(pki.p12, pki.passphrase)}
    first = render_reports(cons, tmp_path, comp, settings=settings, issued_today=lambda: dt.date(2019, 11, 25), log=lambda _: None)
    shas = {k: hashlib.sha256(Path(p).read_bytes()).hexdigest() for k, p in first.items()}
    lines: list[str] = []
    second = render_reports(cons, tmp_path, comp, settings=settings, issued_today=lambda: dt.date(2020, 1, 3), log=lines.append)
    assert second == first
    assert {k: hashlib.sha256(Path(p).read_bytes()).hexdigest() for k, p in second.items()} == shas
    assert any("giữ nguyên" in line for line in lines)
    page1 = pdf_text(first["pdf"], first=1, last=1)
    assert "Hà Nội, ngày 25 tháng 11 năm 2019" in page1  # issued on the first day it was written, kept
    # a new document (the department gives the number): a new PDF, signed again
    numbered = {**settings, "issuer": {"vu_khdt": {"documents": {"nq51_action_programme/2019": {"number": "130"}}}}}
    third = render_reports(cons, tmp_path, comp, settings=numbered, issued_today=lambda: dt.date(2020, 1, 3), log=lambda _: None)
    assert "Số: 130/BC-KHĐT" in pdf_text(third["pdf"], first=1, last=1)
    assert "Hà Nội, ngày 25 tháng 11 năm 2019" in pdf_text(third["pdf"], first=1, last=1)
    assert check_signatures(Path(third["pdf"]).read_bytes(), [pki.ca_pem])[0].bottom_line


def test_libreoffice_failures_are_caught(tmp_path, monkeypatch):
    """soffice exits 0 when it cannot load a file: the missing output is what tells."""
    doc = tmp_path / "y.txt"
    doc.write_text("Báo cáo", encoding="utf-8")
    with pytest.raises(ConversionError) as err:
        convert(doc, tmp_path / "x.pdf", to="pdf:no_such_export_filter")
    assert err.value.code == "conversion_failed" and not (tmp_path / "x.pdf").exists()
    with pytest.raises(ConversionError) as err:
        convert(doc, tmp_path / "y.pdf", timeout=0.05)
    assert err.value.code == "conversion_timeout"
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("BHXH_SOFFICE", raising=False)
    with pytest.raises(ConversionError) as err:
        convert(doc, tmp_path / "y.pdf")
    assert "scripts/install_docs.sh" in err.value.message_vi

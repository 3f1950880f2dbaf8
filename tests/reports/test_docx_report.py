"""The consolidated DOCX (bhxh.reports.docx_report): opens with python-docx, has the parts of an administrative document
laid out per Nghị định 30/2020/NĐ-CP, and shows text from submissions literally (no markup or template injection)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import zipfile

import pytest
from docx import Document
from docx.shared import Mm

from bhxh.calendar.expected import plan_cycle
from bhxh.reports.comparison import compare
from bhxh.reports.consolidation import consolidate
from bhxh.reports.docx_report import Signer, date_parts, render_docx
from bhxh.store.engine import init_store, session_factory

OB, KEY = "nq28_dak_lak_units", "2020"
EVIL = "<w:t>{{x}}</w:t>"


def _seed(session):
    from test_comparison import DATA, seed_store

    seed_store(session, DATA, OB)


def _consolidated(tmp):
    """The 2020 cycle of the Đắk Lắk units from a seeded store: (consolidation, comparison)."""
    url = f"sqlite:///{tmp / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    with maker() as session, session.begin():
        _seed(session)
    with maker() as session:
        cons = consolidate(session, plan_cycle(OB, KEY))
        comp = compare(session, cons)
    return cons, comp


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docx")
    cons, comp = _consolidated(tmp)
    # A unit whose name (as it could arrive from a submission) carries markup and a template expression.
    row = next(r for r in cons.rows if r.unit.id == "daklak_so_khdt")
    row.unit = dataclasses.replace(row.unit, name=f"Sở KH&ĐT {EVIL}")
    next(u for u in comp.units if u.unit_id == "daklak_so_khdt").unit_name = row.unit.name
    invalid = next(r for r in cons.rows if r.state == "invalid")
    invalid.errors = [{"message_vi": "Lỗi {% raw %}<b>&amp;</b>", "message_en": "x"}]
    path = render_docx(
        cons,
        comp,
        tmp / "bao_cao.docx",
        number="15",
        place="Buôn Ma Thuột",
        signer=Signer(title="PHÓ GIÁM ĐỐC", name="Nguyễn Văn A", authority="KT. GIÁM ĐỐC"),
        issued_on=dt.date(2020, 12, 5),
    )
    return path, Document(str(path))


def _texts(doc) -> list[str]:
    out = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                out += [p.text for p in cell.paragraphs]
    return out


def test_header_and_sections(rendered):
    _path, doc = rendered
    texts = _texts(doc)
    joined = "\n".join(texts)
    # Sở LĐ-TB&XH Đắk Lắk issues it; its parent body is the provincial People's Committee.
    assert "ỦY BAN NHÂN DÂN TỈNH ĐẮK LẮK" in texts
    assert "SỞ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI TỈNH ĐẮK LẮK" in texts
    assert "Số: 15/BC-SLĐTBXH" in texts
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in texts
    assert "Độc lập - Tự do - Hạnh phúc" in texts
    assert "Buôn Ma Thuột, ngày 05 tháng 12 năm 2020" in texts
    assert "BÁO CÁO" in texts
    assert "Nơi nhận:" in texts
    assert "- Lưu: VT, SLĐTBXH." in texts
    assert "KT. GIÁM ĐỐC" in texts and "PHÓ GIÁM ĐỐC" in texts and "Nguyễn Văn A" in texts
    assert "Tỷ lệ gửi báo cáo: 13,6%; tỷ lệ gửi đúng hạn: 9,1%" in joined
    assert "2753/QĐ-UBND" in joined
    assert "{{" not in joined.replace(EVIL, "") and "{%" not in joined.replace("{% raw %}", "")


def test_comparison_table_numbers(rendered):
    _path, doc = rendered
    table = doc.tables[1]  # indicators: STT, name, ĐVT, this cycle, target, gap, previous, change
    rows = [[c.text for c in r.cells] for r in table.rows]
    bhxh = next(r for r in rows if r[1].startswith("Tỷ lệ lực lượng lao động trong độ tuổi tham gia BHXH"))
    assert bhxh[3:] == ["12,8", "13,0 (2021)", "-0,2", "11,7", "+1,1"]
    nv = next(r for r in rows if r[1].startswith("Số nhiệm vụ của Kế hoạch đã hoàn thành"))
    assert nv[3:] == ["10", "—", "—", "7", "+3"]


def test_formatting(rendered):
    _path, doc = rendered
    sec = doc.sections[0]
    assert abs(sec.page_width - Mm(210)) < Mm(1) and abs(sec.page_height - Mm(297)) < Mm(1)
    assert Mm(20) <= sec.top_margin <= Mm(25) and Mm(20) <= sec.bottom_margin <= Mm(25)
    assert Mm(30) <= sec.left_margin <= Mm(35) and Mm(15) <= sec.right_margin <= Mm(20)
    assert doc.styles["Normal"].font.name == "Times New Roman"
    runs = [r for p in doc.paragraphs for r in p.runs]
    runs += [r for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs]
    assert runs and all(r.font.name in (None, "Times New Roman") for r in runs)

    def run_of(text):
        return next(r for r in runs if r.text == text)

    assert run_of("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").bold and run_of(
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    ).font.size.pt in (12, 13)
    assert run_of("Độc lập - Tự do - Hạnh phúc").bold and run_of(
        "Độc lập - Tự do - Hạnh phúc"
    ).font.size.pt in (13, 14)
    assert run_of("Buôn Ma Thuột, ngày 05 tháng 12 năm 2020").italic
    nn = run_of("Nơi nhận:")
    assert nn.bold and nn.italic and nn.font.size.pt == 12
    assert run_of("- Lưu: VT, SLĐTBXH.").font.size.pt == 11
    assert run_of("BÁO CÁO").bold
    body = next(p for p in doc.paragraphs if p.text.startswith("Căn cứ"))
    assert body.alignment == 3  # justified
    assert Mm(10) <= body.paragraph_format.first_line_indent <= Mm(12.7) + 1
    assert body.runs[0].font.size.pt in (13, 14)


def test_submitted_text_is_literal(rendered):
    path, doc = rendered
    joined = "\n".join(_texts(doc))
    assert f"Sở KH&ĐT {EVIL}" in joined
    assert "Lỗi {% raw %}<b>&amp;</b>" in joined
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    assert "&lt;w:t&gt;{{x}}&lt;/w:t&gt;" in xml


def test_date_parts_leading_zeros():
    assert date_parts(dt.date(2025, 12, 5)) == {"day": "05", "month": "12", "year": "2025"}
    assert date_parts(dt.date(2025, 2, 9)) == {"day": "09", "month": "02", "year": "2025"}
    assert date_parts(dt.date(2025, 3, 15))["month"] == "3"  # only months 1 and 2 take a zero


def test_template_is_reproducible(tmp_path):
    from bhxh.reports.docx_template import OUT, build

    built = build(tmp_path / "t.docx")
    assert hashlib.sha256(built.read_bytes()).digest() == hashlib.sha256(OUT.read_bytes()).digest()
    assert abs(Document(io.BytesIO(OUT.read_bytes())).sections[0].page_width - Mm(210)) < Mm(1)


def test_faster_template_renders_what_docxtpl_renders(tmp_path):
    """ReportTemplate skips docxtpl passes that cannot change our document: the parts must come out the same,
    including a paragraph with a line break and a tab (the pass it keeps) beside paragraphs without."""
    from docxtpl import DocxTemplate

    from bhxh.reports.docx_report import ReportTemplate

    cons, comp = _consolidated(tmp_path)
    invalid = next(r for r in cons.rows if r.state == "invalid")
    invalid.errors = [{"message_vi": "Dòng 1\nDòng 2\tcột B", "message_en": "x"}]
    parts = {}
    for cls in (DocxTemplate, ReportTemplate):
        path = render_docx(cons, comp, tmp_path / f"{cls.__name__}.docx", number="15", place="Hà Nội", signer=Signer(),
                           issued_on=dt.date(2020, 12, 5), template_class=cls)
        with zipfile.ZipFile(path) as z:
            parts[cls] = {name: z.read(name) for name in z.namelist()}
    ours, theirs = parts[ReportTemplate], parts[DocxTemplate]
    assert sorted(ours) == sorted(theirs)
    assert [n for n in ours if ours[n] != theirs[n]] == []
    assert b"<w:br/>" in ours["word/document.xml"] and b"<w:tab/>" in ours["word/document.xml"]

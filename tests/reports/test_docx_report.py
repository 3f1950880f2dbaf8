"""The consolidated DOCX (bhxh.reports.docx_report) read with python-docx: the parts of an administrative document
laid out per Nghị định 30/2020/NĐ-CP, tables whose grid agrees with their cells, a body in Vietnamese prose and
short tables, names never codes, and text from submissions shown literally (no markup or template injection).
How LibreOffice lays it out is tested in test_documents_pdf.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import re
import zipfile

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm

from bhxh.calendar.expected import plan_cycle
from bhxh.reports.docx_report import attention_rows, date_parts, reason, render_docx
from bhxh.reports.issuer import IssuerSettingsError, resolve_issuer

EVIL = "<w:t>{{x}}</w:t>"
ISSUER = {"daklak_so_ldtbxh": {"signer": {"authority": "KT. GIÁM ĐỐC", "title": "PHÓ GIÁM ĐỐC", "name": "Nguyễn Văn A"}}}
ACTIONS = [
    {"when": "2020-12-02T15:00:00+07:00", "who": "tran.thi.c", "unit_id": "daklak_so_noi_vu", "unit_name": None,
     "kind": "late_reason", "reason": "Mất điện kéo dài", "new_last_day": None},
    {"when": dt.datetime(2020, 11, 20, 1, 0, tzinfo=dt.UTC), "who": "tran.thi.c", "unit_id": "daklak_so_noi_vu",
     "unit_name": "Sở Nội vụ tỉnh Đắk Lắk", "kind": "extension", "reason": "Mưa lũ", "new_last_day": dt.date(2020, 12, 4)},
    {"when": "2020-11-25T09:30:00+07:00", "who": "nguyen.van.b", "unit_id": "daklak_so_tai_chinh", "unit_name": None,
     "kind": "returned", "reason": "Thiếu số liệu chỉ tiêu", "new_last_day": None},
]


def _issuer(cons, overrides=ISSUER, day=dt.date(2020, 12, 5), number="15"):
    return resolve_issuer(cons.plan, overrides, issued_on=day, number=number)


@pytest.fixture
def rendered(dak_cycle, tmp_path):
    cons, comp = dak_cycle
    # A unit whose name (as it could arrive from a submission) carries markup and a template expression.
    row = next(r for r in cons.rows if r.unit.id == "daklak_so_khdt")
    row.unit = dataclasses.replace(row.unit, name=f"Sở KH&ĐT {EVIL}")
    next(u for u in comp.units if u.unit_id == "daklak_so_khdt").unit_name = row.unit.name
    invalid = next(r for r in cons.rows if r.state == "invalid")
    invalid.errors = [{"message_vi": "Sheet 'Chỉ tiêu', dòng 3: Lỗi {% raw %}<b>&amp;</b>. Hãy sửa.", "message_en": "x"}]
    from bhxh.reports.documents import action_rows

    path = render_docx(cons, comp, tmp_path / "bao_cao.docx", _issuer(cons),
                       actions=action_rows(ACTIONS, cons.plan.cycle.effective_last_day))
    return path, Document(str(path))


def _texts(doc) -> list[str]:
    out = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                out += [p.text for p in cell.paragraphs]
    return out


def _table(doc, *headers: str):
    return next(t for t in doc.tables if [c.text for c in t.rows[0].cells][: len(headers)] == list(headers))


def test_header_and_sections(rendered):
    _path, doc = rendered
    texts = _texts(doc)
    joined = "\n".join(texts)
    # Sở LĐ-TB&XH Đắk Lắk issues it under the provincial People's Committee, on the day and number it was given.
    assert "UBND TỈNH ĐẮK LẮK" in texts
    assert "SỞ LAO ĐỘNG - THƯƠNG BINH\nVÀ XÃ HỘI TỈNH ĐẮK LẮK" in texts  # broken where the issuer data says
    assert "Số: 15/BC-SLĐTBXH" in texts
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in texts and "Độc lập - Tự do - Hạnh phúc" in texts
    assert "Đắk Lắk, ngày 05 tháng 12 năm 2020" in texts
    assert "BÁO CÁO" in texts and "Nơi nhận:" in texts and "- Lưu: VT, SLĐTBXH." in texts
    assert "- UBND tỉnh Đắk Lắk (để báo cáo);" in texts
    assert "KT. GIÁM ĐỐC" in texts and "PHÓ GIÁM ĐỐC" in texts and "Nguyễn Văn A" in texts
    assert "Đã gửi báo cáo hợp lệ: 3 đơn vị (13,6%), trong đó đúng hạn 2 đơn vị (9,1%)" in joined
    assert "Kỳ 2019: tỷ lệ gửi báo cáo 100,0%, tỷ lệ gửi đúng hạn 66,7%." in joined
    assert "Căn cứ Quyết định số 2753/QĐ-UBND" in joined
    assert "Sở Nội vụ tỉnh Đắk Lắk (nhận ngày 20/11/2020)" in joined
    assert "{{" not in joined.replace(EVIL, "") and "{%" not in joined.replace("{% raw %}", "")


def test_every_table_grid_agrees_with_its_cells(rendered):
    """LibreOffice lays a table out by its grid, Word by its cells: they must agree, in a fixed layout, and fit
    the text width (165 mm)."""
    path, doc = rendered
    tables = Document(str(path)).element.body.iter(qn("w:tbl"))
    count = 0
    for tbl in tables:
        count += 1
        assert tbl.find(qn("w:tblPr")).find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        grid = [int(c.get(qn("w:w"))) for c in tbl.find(qn("w:tblGrid")).findall(qn("w:gridCol"))]
        assert sum(grid) <= round(165 / 25.4 * 1440) + 1
        for tr in tbl.findall(qn("w:tr")):
            widths = [int(tc.find(qn("w:tcPr")).find(qn("w:tcW")).get(qn("w:w"))) for tc in tr.findall(qn("w:tc"))]
            assert widths == grid
    assert count == len(doc.tables) >= 6


def test_indicator_table_against_targets_and_previous_cycle(rendered):
    _path, doc = rendered
    rows = [[c.text for c in r.cells] for r in _table(doc, "STT", "Chỉ tiêu", "Đơn vị tính").rows]
    assert rows[0][6] == "Kỳ 2019"
    bhxh = next(r for r in rows if r[1].startswith("Tỷ lệ lực lượng lao động trong độ tuổi tham gia BHXH"))
    assert bhxh[3:] == ["12,8", "13,0 (2021)", "-0,2", "11,7", "+1,1"]
    nv = next(r for r in rows if r[1].startswith("Số nhiệm vụ của Kế hoạch đã hoàn thành"))
    assert nv[3:] == ["10", "—", "—", "7", "+3"]


def test_units_behind_are_named(rendered, dak_cycle):
    _path, doc = rendered
    watch = [[c.text for c in r.cells] for r in _table(doc, "STT", "Chỉ tiêu", "Tiêu chí").rows]
    bhxh = next(r for r in watch if r[1].startswith("Tỷ lệ lực lượng lao động trong độ tuổi tham gia BHXH"))
    assert bhxh[2] == "Thấp hơn mục tiêu 13,0 (2021)"
    assert "(12,5)" in bhxh[3] and "Sở Nội vụ" not in bhxh[3]  # 13,0 meets the target
    # without a target: the units that went down since the previous cycle (Sở Nội vụ: 14,0 -> 13,0)
    _cons, comp = dak_cycle
    for info in comp.indicators:
        info.target = None
    rows = {r["name"]: r for r in attention_rows(comp)}
    row = next(r for name, r in rows.items() if name.startswith("Tỷ lệ lực lượng lao động trong độ tuổi tham gia BHXH"))
    assert row["rule"] == "down_from_previous"
    assert row["units"] == [{"name": "Sở Nội vụ tỉnh Đắk Lắk", "value": "13,0"}] and row["more"] == 0


def test_layout_of_an_administrative_document(rendered):
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

    motto = run_of("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert motto.bold and motto.font.size.pt in (12, 13)
    assert run_of("Độc lập - Tự do - Hạnh phúc").bold and run_of("Độc lập - Tự do - Hạnh phúc").font.size.pt in (13, 14)
    assert run_of("Đắk Lắk, ngày 05 tháng 12 năm 2020").italic
    nn = run_of("Nơi nhận:")
    assert nn.bold and nn.italic and nn.font.size.pt == 12
    assert run_of("- Lưu: VT, SLĐTBXH.").font.size.pt == 11
    assert run_of("BÁO CÁO").bold and run_of("PHÓ GIÁM ĐỐC").bold and run_of("Nguyễn Văn A").bold
    body = next(p for p in doc.paragraphs if p.text.startswith("Căn cứ"))
    assert body.alignment == 3  # justified
    assert Mm(10) <= body.paragraph_format.first_line_indent <= Mm(12.7) + 1
    assert body.runs[0].font.size.pt in (13, 14)
    # page numbers at the top, from page 2
    assert sec.different_first_page_header_footer
    assert "PAGE" in "".join(sec.header._element.itertext())


def test_body_is_vietnamese_without_stray_punctuation(rendered):
    """No English sentence in the body of a Vietnamese document, no ".;" or ";." between pieces of text."""
    _path, doc = rendered
    body = "\n".join(_texts(doc))
    english = re.findall(r"\b(?:the|and|of|is|no|not|previous|cycle|store|data|report|units?)\b", body, flags=re.IGNORECASE)
    assert english == []
    assert " / " not in body  # the bilingual separator of messages
    # an ellipsis where a quotation of the legal text leaves words out is the quotation's own ("thành phố ... tổ chức")
    assert re.findall(r"\.;|;\.|,\.|\.,|;;|(?<!\.)\.\.(?!\.)|\s(?!\.\.\.\s)[.;,](?!/)", body.replace("./.", "")) == []


def test_submitted_text_is_literal(rendered):
    path, doc = rendered
    joined = "\n".join(_texts(doc))
    assert f"Sở KH&ĐT {EVIL}" in joined
    assert "Lỗi {% raw %}<b>&amp;</b>." in joined  # the cell and the advice to the unit are left to the unit's message
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    assert "&lt;w:t&gt;{{x}}&lt;/w:t&gt;" in xml


def test_annex_of_operator_actions(rendered):
    _path, doc = rendered
    texts = _texts(doc)
    assert "Phụ lục" in texts
    assert "(Kèm theo Báo cáo số 15/BC-SLĐTBXH ngày 05/12/2020 của Sở Lao động - Thương binh và Xã hội tỉnh Đắk Lắk)" in texts
    rows = [[c.text for c in r.cells] for r in _table(doc, "STT", "Thời điểm").rows[1:]]
    assert [r[1] for r in rows] == ["08:00 20/11/2020", "09:30 25/11/2020", "15:00 02/12/2020"]  # in time order, local
    assert [r[2] for r in rows] == ["Sở Nội vụ tỉnh Đắk Lắk", "Sở Tài chính tỉnh Đắk Lắk", "Sở Nội vụ tỉnh Đắk Lắk"]
    assert [r[3] for r in rows] == ["Gia hạn đến hết ngày 04/12/2020", "Trả lại báo cáo", "Lý do gửi muộn"]
    assert rows[0][4:] == ["Mưa lũ", "tran.thi.c"]


def test_no_annex_without_actions(dak_cycle, tmp_path):
    cons, comp = dak_cycle
    doc = Document(str(render_docx(cons, comp, tmp_path / "a.docx", _issuer(cons))))
    assert "Phụ lục" not in _texts(doc)


def test_a_ceased_department_is_named_never_coded(tmp_path):
    """2026: Vụ Kế hoạch và Đầu tư has ceased without a successor; the report still names it, with its symbol."""
    from bhxh.reports.comparison import compare
    from bhxh.reports.consolidation import consolidate
    from bhxh.store.engine import init_store, session_factory

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    init_store(url)
    with session_factory(url)() as session:
        cons = consolidate(session, plan_cycle("nq51_action_programme", "2026"))
        comp = compare(session, cons)
    issuer = resolve_issuer(cons.plan, {}, issued_on=dt.date(2026, 11, 20))
    doc = Document(str(render_docx(cons, comp, tmp_path / "b.docx", issuer)))
    texts = _texts(doc)
    joined = "\n".join(texts)
    assert "VỤ KẾ HOẠCH VÀ ĐẦU TƯ" in texts and "BẢO HIỂM XÃ HỘI VIỆT NAM" in texts
    assert "Số: \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-KHĐT" in texts  # blank for the registry, the symbol right
    assert "VU_KHDT" not in joined and "vu_khdt" not in joined and "/BC-V\n" not in joined + "\n"
    assert "VỤ TRƯỞNG" in texts and "(Họ và tên người ký)" in texts


def test_issuer_settings_are_checked(dak_cycle):
    cons, _ = dak_cycle
    with pytest.raises(IssuerSettingsError) as err:
        resolve_issuer(cons.plan, {"daklak_so_ldtbxh": {"signatory": "x"}}, issued_on=dt.date(2020, 12, 5))
    assert "signatory" in err.value.message_vi and "signatory" in err.value.message_en
    with pytest.raises(IssuerSettingsError):
        resolve_issuer(cons.plan, {"daklak_so_ldtbxh": {"documents": {"nq28_dak_lak_units/2020": {"date": "5/12/2020"}}}},
                       issued_on=dt.date(2020, 12, 5))
    issuer = resolve_issuer(cons.plan, {"daklak_so_ldtbxh": {"signer": {"name": "Trần\u0007 Thị B"}}}, issued_on=dt.date(2020, 12, 5))
    assert issuer.signer.name == "Trần Thị B" and issuer.signer.title == "GIÁM ĐỐC" and issuer.signer.named


def test_reason_drops_the_cell_and_the_advice():
    assert reason("Sheet 'Chỉ tiêu', dòng 6, cột 'Thực hiện': Tỷ lệ 104.5% vượt quá 100%. Hãy nhập tỷ lệ từ 0 đến 100.") == (
        "Tỷ lệ 104.5% vượt quá 100%"
    )
    assert reason("Tệp rỗng: không có nội dung. Hãy gửi lại.") == "không có nội dung"


def test_date_parts_leading_zeros():
    assert date_parts(dt.date(2025, 12, 5)) == {"day": "05", "month": "12", "year": "2025"}
    assert date_parts(dt.date(2025, 2, 9)) == {"day": "09", "month": "02", "year": "2025"}
    assert date_parts(dt.date(2025, 3, 15))["month"] == "3"  # only months 1 and 2 take a zero


def test_template_is_reproducible(tmp_path):
    from bhxh.reports.docx_template import OUT, build

    built = build(tmp_path / "t.docx")
    assert hashlib.sha256(built.read_bytes()).digest() == hashlib.sha256(OUT.read_bytes()).digest()
    assert abs(Document(io.BytesIO(OUT.read_bytes())).sections[0].page_width - Mm(210)) < Mm(1)


def test_same_content_same_bytes(dak_cycle, tmp_path):
    cons, comp = dak_cycle
    first = render_docx(cons, comp, tmp_path / "1.docx", _issuer(cons)).read_bytes()
    second = render_docx(cons, comp, tmp_path / "2.docx", _issuer(cons)).read_bytes()
    assert first == second
    other = render_docx(cons, comp, tmp_path / "3.docx", _issuer(cons, day=dt.date(2020, 12, 7))).read_bytes()
    assert other != first


def test_faster_template_renders_what_docxtpl_renders(dak_cycle, tmp_path):
    """ReportTemplate skips docxtpl passes that cannot change our document: the parts must come out the same,
    including a paragraph with a line break and a tab (the pass it keeps) beside paragraphs without."""
    from docxtpl import DocxTemplate

    from bhxh.reports.docx_report import ReportTemplate

    cons, comp = dak_cycle
    missing = next(r for r in cons.rows if r.state == "missing")
    missing.unit = dataclasses.replace(missing.unit, name="Dòng 1\nDòng 2\tcột B")
    parts = {}
    for cls in (DocxTemplate, ReportTemplate):
        path = render_docx(cons, comp, tmp_path / f"{cls.__name__}.docx", _issuer(cons), template_class=cls)
        with zipfile.ZipFile(path) as z:
            parts[cls] = {name: z.read(name) for name in z.namelist()}
    ours, theirs = parts[ReportTemplate], parts[DocxTemplate]
    assert sorted(ours) == sorted(theirs)
    assert [n for n in ours if ours[n] != theirs[n]] == []
    assert b"<w:br/>" in ours["word/document.xml"] and b"<w:tab/>" in ours["word/document.xml"]

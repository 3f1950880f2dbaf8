"""Builds templates/reports/consolidated.docx, the docxtpl template of the consolidated report laid out as a
Vietnamese administrative document (Nghị định 30/2020/NĐ-CP, Phụ lục I). The output is committed; rebuild it
reproducibly (same bytes every time) after changing the layout here:

    python -m bhxh.reports.docx_template [--out templates/reports/consolidated.docx]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import math
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, Twips

from bhxh.templating import TEMPLATES_DIR

OUT = TEMPLATES_DIR / "reports" / "consolidated.docx"
FONT = "Times New Roman"
FIXED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # fixed metadata and zip times: the build is reproducible
# Page and margins (Phụ lục I: top/bottom 20-25 mm, left 30-35 mm, right 15-20 mm).
# Word stores margins in twips: round up so that 15 mm stays at least 15 mm.
MARGINS = {
    side: Twips(math.ceil(mm * 1440 / 25.4))
    for side, mm in {"top": 20, "bottom": 20, "left": 30, "right": 15}.items()
}
TEXT_WIDTH = Mm(210 - 30 - 15)


def _font(run, size: float, *, bold: bool = False, italic: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def _para(
    container,
    text: str = "",
    size: float = 13,
    *,
    bold=False,
    italic=False,
    align="left",
    indent=False,
    before: float = 0,
    after: float = 0,
):
    p = container.add_paragraph()
    p.alignment = {
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    }[align]
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if indent:
        fmt.first_line_indent = Cm(1.27)
    if text:
        _font(p.add_run(text), size, bold=bold, italic=italic)
    return p


def _rule(container, left: Cm, right: Cm):
    """A short horizontal line: an empty, tiny paragraph with a bottom border, narrowed by its indents."""
    p = _para(container, align="center", after=2)
    p.paragraph_format.left_indent, p.paragraph_format.right_indent = left, right
    _font(p.add_run(""), 2)
    ppr = p._element.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.append(borders)
    return p


def _first_cell_paragraph(cell):
    """A fresh cell holds one empty paragraph: reuse it for the first line."""
    return cell.paragraphs[0]


def _cell_text(cell, text: str, size: float, *, bold=False, italic=False, align="center"):
    p = (
        _first_cell_paragraph(cell)
        if not cell.paragraphs[0].runs and len(cell.paragraphs) == 1
        else cell.add_paragraph()
    )
    p.alignment = {
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
    }[align]
    p.paragraph_format.space_after = Pt(0)
    _font(p.add_run(text), size, bold=bold, italic=italic)
    return p


def _widths(table, widths) -> None:
    table.autofit = False
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def _header(doc) -> None:
    table = doc.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, (Cm(6.5), Cm(10.0)))
    left, right = table.cell(0, 0), table.cell(0, 1)
    _cell_text(left, "{{ parent_body }}", 12)
    _cell_text(left, "{{ issuer_upper }}", 12, bold=True)
    _rule(left, Cm(2.0), Cm(2.0))
    _cell_text(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True)
    _cell_text(right, "Độc lập - Tự do - Hạnh phúc", 13, bold=True)
    _rule(right, Cm(2.1), Cm(2.1))
    _cell_text(table.cell(1, 0), "Số: {{ number }}/BC-{{ abbr }}", 13)
    _cell_text(
        table.cell(1, 1), "{{ place }}, ngày {{ day }} tháng {{ month }} năm {{ year }}", 13, italic=True
    )


def _grid(doc, headers: list[tuple[str, Cm]], loop: str, cells: list[str]):
    """A bordered table: a header row, then one row per item of `loop` (docxtpl {%tr %} rows)."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, [w for _, w in headers])
    for cell, (title, _) in zip(table.rows[0].cells, headers, strict=True):
        _cell_text(cell, title, 11, bold=True)
    _cell_text(table.cell(1, 0), "{%tr for r in " + loop + " %}", 11)
    for index, (cell, text) in enumerate(zip(table.rows[2].cells, cells, strict=True)):
        _cell_text(cell, text, 11, align="left" if index == 1 else "center")
    _cell_text(table.cell(3, 0), "{%tr endfor %}", 11)
    return table


def _body(doc) -> None:
    _para(doc, "BÁO CÁO", 14, bold=True, align="center", before=12)
    _para(doc, "{{ subject }}", 14, bold=True, align="center")
    _rule(doc, Cm(6.0), Cm(6.0))
    body = {"size": 13, "align": "justify", "indent": True, "before": 6}
    _para(
        doc,
        "Căn cứ {{ legal.document }} ngày {{ legal.date }}, {{ legal.part }}: “{{ legal.wording }}”; "
        "{{ issuer }} tổng hợp báo cáo kỳ {{ cycle_key }} (kỳ số liệu từ {{ period_start }} đến {{ period_end }}; "
        "hạn theo văn bản {{ nominal_due }}, hạn thực tế hết ngày {{ effective_last_day }}"
        "{% if moved_because %}, lùi do {{ moved_because }}{% endif %}) như sau:",
        **body,
    )
    _para(doc, "1. Tình hình gửi báo cáo", 13, bold=True, align="justify", indent=True, before=6)
    _para(
        doc,
        "Số đơn vị phải báo cáo: {{ expected }}; đã gửi báo cáo hợp lệ: {{ reported }} (đúng hạn: {{ counts.on_time }}, "
        "trễ hạn: {{ counts.late }}); báo cáo không hợp lệ: {{ counts.invalid }}; chưa gửi: {{ counts.missing }}.",
        **body,
    )
    _para(
        doc,
        "Tỷ lệ gửi báo cáo: {{ reporting_rate }}; tỷ lệ gửi đúng hạn: {{ on_time_rate }}"
        "{% if previous_cycle_key and previous_reporting_rate %} (kỳ {{ previous_cycle_key }}: "
        "{{ previous_reporting_rate }} và {{ previous_on_time_rate }}){% endif %}.",
        **body,
    )
    _para(doc, "Đơn vị chưa gửi báo cáo: {{ missing_names or 'không có' }}.", **body)
    _para(doc, "{%p if invalid %}", 13)
    _para(doc, "Đơn vị gửi báo cáo không hợp lệ (cần gửi lại):", **body)
    _para(doc, "{%p for r in invalid %}", 13)
    _para(doc, "- {{ r.name }}: {{ r.errors }}", **body)
    _para(doc, "{%p endfor %}", 13)
    _para(doc, "{%p endif %}", 13)
    _para(doc, "{%p for f in flags %}", 13)
    _para(doc, "Lưu ý: {{ f }}", **body)
    _para(doc, "{%p endfor %}", 13)
    _para(
        doc,
        "2. Kết quả thực hiện các chỉ tiêu so với mục tiêu và kỳ trước",
        13,
        bold=True,
        align="justify",
        indent=True,
        before=6,
    )
    _para(
        doc,
        "Số tổng hợp chỉ gồm báo cáo hợp lệ; chỉ tiêu tỷ lệ (%) là bình quân các đơn vị; mục tiêu là mốc gần nhất "
        "từ năm {{ target_year }} trở đi; chênh lệch = kỳ này − mục tiêu; tăng/giảm = kỳ này − kỳ {{ previous_cycle_key or 'trước' }}.",
        **body,
    )
    _para(doc, "{%p for n in notes %}", 13)
    _para(doc, "{{ n }}", **body)
    _para(doc, "{%p endfor %}", 13)
    cols = [
        "{{ r.stt }}",
        "{{ r.name }}",
        "{{ r.measure }}",
        "{{ r.value }}",
        "{{ r.target }}",
        "{{ r.gap }}",
        "{{ r.previous }}",
        "{{ r.change }}",
    ]
    heads = [
        ("STT", Cm(1.0)),
        ("Chỉ tiêu", Cm(5.3)),
        ("ĐVT", Cm(1.5)),
        ("Kỳ này", Cm(1.9)),
        ("Mục tiêu", Cm(1.7)),
        ("Chênh lệch", Cm(1.7)),
        ("Kỳ trước", Cm(1.7)),
        ("Tăng/ giảm", Cm(1.7)),
    ]
    _grid(doc, heads, "indicator_rows", cols)
    _para(doc, "3. Chi tiết theo đơn vị", 13, bold=True, align="justify", indent=True, before=6)
    cols = [
        "{{ r.stt }}",
        "{{ r.unit }}",
        "{{ r.code }}",
        "{{ r.value }}",
        "{{ r.target }}",
        "{{ r.gap }}",
        "{{ r.previous }}",
        "{{ r.change }}",
    ]
    heads = [
        ("STT", Cm(1.0)),
        ("Đơn vị", Cm(5.0)),
        ("Chỉ tiêu", Cm(2.6)),
        ("Kỳ này", Cm(1.7)),
        ("Mục tiêu", Cm(1.6)),
        ("Chênh lệch", Cm(1.6)),
        ("Kỳ trước", Cm(1.6)),
        ("Tăng/ giảm", Cm(1.6)),
    ]
    _grid(doc, heads, "unit_rows", cols)
    _para(doc, "Trên đây là báo cáo tổng hợp kỳ {{ cycle_key }} của {{ issuer }}./.", **body)


def _signature(doc) -> None:
    table = doc.add_table(rows=1, cols=2)
    _widths(table, (Cm(8.0), Cm(8.5)))
    left, right = table.cell(0, 0), table.cell(0, 1)
    _cell_text(left, "Nơi nhận:", 12, bold=True, italic=True, align="left")
    _cell_text(left, "{%p for r in recipients %}", 11, align="left")
    _cell_text(left, "- {{ r }};", 11, align="left")
    _cell_text(left, "{%p endfor %}", 11, align="left")
    _cell_text(left, "- Lưu: VT, {{ abbr }}.", 11, align="left")
    _cell_text(right, "{%p if signer.authority %}", 13)
    _cell_text(right, "{{ signer.authority }}", 13, bold=True)
    _cell_text(right, "{%p endif %}", 13)
    _cell_text(right, "{{ signer.title }}", 13, bold=True)
    for _ in range(4):
        _cell_text(right, " ", 13)
    _cell_text(right, "{{ signer.name }}", 13, bold=True)


def build(out: Path = OUT) -> Path:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(13)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    sec.left_margin, sec.right_margin = MARGINS["left"], MARGINS["right"]
    sec.header_distance = sec.footer_distance = Mm(10)
    _header(doc)
    _body(doc)
    _para(doc, "", 13)
    _signature(doc)
    props = doc.core_properties
    props.author = props.last_modified_by = "bhxh.reports.docx_template"
    props.title = "Báo cáo tổng hợp"
    props.created = props.modified = FIXED.replace(tzinfo=None)
    props.revision = 1
    buffer = io.BytesIO()
    doc.save(buffer)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(_normalised_zip(buffer.getvalue()))
    return out


def _normalised_zip(data: bytes) -> bytes:
    """The same zip with fixed entry times, so two builds give the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in sorted(src.infolist(), key=lambda i: (i.filename != "[Content_Types].xml", i.filename)):
            info = zipfile.ZipInfo(item.filename, date_time=FIXED.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, src.read(item.filename))
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()

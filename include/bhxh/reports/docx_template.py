"""Builds templates/reports/consolidated.docx, the docxtpl template of the consolidated report laid out as a
Vietnamese administrative document (Nghị định 30/2020/NĐ-CP, Phụ lục I). The output is committed; rebuild it
reproducibly (same bytes every time) after changing the layout here:

    python -m bhxh.reports.docx_template [--out templates/reports/consolidated.docx]

Every table has a fixed layout whose grid (w:tblGrid) equals its cells' widths (w:tcW): LibreOffice lays a table
out by its grid, Word by its cells, and when the two disagree the national motto wraps and numbers split.
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips

from bhxh.reports.docx_parts import (
    FONT,
    TEXT_WIDTH_CM,
    cant_split,
    cell_text,
    fixed_table,
    header_row,
    page_numbers,
    para,
    rule,
)
from bhxh.reports.stable import FIXED, normalised_zip
from bhxh.templating import TEMPLATES_DIR

OUT = TEMPLATES_DIR / "reports" / "consolidated.docx"
# Page and margins (Phụ lục I: top/bottom 20-25 mm, left 30-35 mm, right 15-20 mm).
# Word stores margins in twips: round up so that 15 mm stays at least 15 mm.
MARGINS = {
    side: Twips(math.ceil(mm * 1440 / 25.4))
    for side, mm in {"top": 20, "bottom": 20, "left": 30, "right": 15}.items()
}
# The header block: "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in 12 pt bold Times New Roman (Liberation Serif, the same
# metrics) is 8.83 cm wide (measured with fontTools): the right column (9.5 cm less 2 x 0.19 cm of cell margins)
# holds it on one line; the left one holds "BẢO HIỂM XÃ HỘI VIỆT NAM" (5.82 cm) or "SỞ LAO ĐỘNG - THƯƠNG BINH"
# (6.42 cm, bold), longer names break where the issuer data says (name_lines).
HEADER_COLUMNS = (7.0, 9.5)
MOTTO_RULE_CM = 5.6  # "Độc lập - Tự do - Hạnh phúc", 13 pt bold: 5.61 cm; its rule is as long
ISSUER_RULE_CM = 2.4  # a short rule under the issuing unit, a third to a half of its line
SIGNATURE_COLUMNS = (8.0, 8.5)
BODY = {"size": 13, "align": "justify", "indent": True, "before": 6}
TABLE_PT = 11
TABLE_MARGIN_CM = 0.1  # data tables: narrow cell margins leave the numbers room


def _grid(doc, columns: list[tuple[str, float, str, str]], loop: str):
    """A bordered table: a header row (repeated on every page), then one row per item of `loop` (docxtpl {%tr %}
    rows). `columns`: (title, width in cm, cell expression, alignment)."""
    table = fixed_table(doc, 4, [w for _, w, _, _ in columns], style="Table Grid", margin_cm=TABLE_MARGIN_CM)
    for cell, (title, _, _, _) in zip(table.rows[0].cells, columns, strict=True):
        cell_text(cell, title, TABLE_PT, bold=True, pad=True)
    header_row(table.rows[0])
    cell_text(table.cell(1, 0), "{%tr for r in " + loop + " %}", TABLE_PT)
    for cell, (_, _, expr, align) in zip(table.rows[2].cells, columns, strict=True):
        cell_text(cell, expr, TABLE_PT, align=align, pad=True)
    cant_split(table.rows[2])
    cell_text(table.cell(3, 0), "{%tr endfor %}", TABLE_PT)
    return table


def _header(doc) -> None:
    left_w, right_w = HEADER_COLUMNS
    table = fixed_table(doc, 2, HEADER_COLUMNS)
    left, right = table.cell(0, 0), table.cell(0, 1)
    cell_text(left, "{%p if parent_upper %}", 12)
    cell_text(left, "{{ parent_upper }}", 12)
    cell_text(left, "{%p endif %}", 12)
    cell_text(left, "{{ issuer_upper }}", 12, bold=True)
    rule(left, ISSUER_RULE_CM, left_w)
    cell_text(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True)
    cell_text(right, "Độc lập - Tự do - Hạnh phúc", 13, bold=True)
    rule(right, MOTTO_RULE_CM, right_w)
    cell_text(table.cell(1, 0), "Số: {{ number }}/BC-{{ symbol }}", 13)
    cell_text(table.cell(1, 1), "{{ place }}, ngày {{ day }} tháng {{ month }} năm {{ year }}", 13, italic=True)


def _heading(doc, text: str) -> None:
    para(doc, text, 13, bold=True, align="justify", indent=True, before=8, keep_next=True)


def _caption(doc, text: str) -> None:
    para(doc, text, 12, bold=True, align="center", before=6, after=3, keep_next=True)


CRITERION = (
    "{% if r.rule == 'below_target' %}Thấp hơn mục tiêu {{ r.target }} ({{ r.year }})"
    "{% elif r.rule == 'above_target' %}Cao hơn mục tiêu {{ r.target }} ({{ r.year }})"
    "{% elif r.rule == 'down_from_previous' %}Giảm so với kỳ trước"
    "{% elif r.rule == 'up_from_previous' %}Tăng so với kỳ trước"
    "{% elif r.rule == 'lowest' %}Thấp nhất{% else %}Cao nhất{% endif %}"
)
UNITS = (
    "{% for u in r.units %}{{ u.name }} ({{ u.value }}){% if not loop.last %}; {% endif %}{% endfor %}"
    "{% if r.more %}; và {{ r.more }} đơn vị khác{% endif %}"
)
ACTION = (
    "{% if r.kind == 'returned' %}Trả lại báo cáo"
    "{% elif r.kind == 'extension' %}Gia hạn{% if r.new_last_day %} đến hết ngày {{ r.new_last_day }}{% endif %}"
    "{% else %}Lý do gửi muộn{% endif %}"
)


def _body(doc) -> None:
    para(doc, "BÁO CÁO", 14, bold=True, align="center", before=14)
    para(doc, "{{ subject }}", 14, bold=True, align="center")
    rule(doc, 3.5, TEXT_WIDTH_CM + 0.38)
    para(
        doc,
        "Căn cứ {{ basis.kind }} số {{ basis.document }} ngày {{ basis.date }} ({{ basis.part }}: “{{ basis.wording }}”), "
        "{{ issuer }} tổng hợp báo cáo kỳ {{ cycle_key }} của các đơn vị (số liệu từ ngày {{ period_start }} đến ngày "
        "{{ period_end }}; hạn gửi báo cáo: hết ngày {{ last_day }}{% if moved_because %}, lùi do {{ moved_because }}"
        "{% endif %}) như sau:",
        **BODY,
    )
    # 1. Reporting
    _heading(doc, "1. Tình hình gửi báo cáo")
    para(
        doc,
        "Số đơn vị phải báo cáo: {{ expected }}. Đã gửi báo cáo hợp lệ: {{ reported }} đơn vị ({{ reporting_rate }}), "
        "trong đó đúng hạn {{ counts.on_time }} đơn vị ({{ on_time_rate }}), trễ hạn {{ counts.late }} đơn vị; "
        "gửi báo cáo không hợp lệ: {{ counts.invalid }} đơn vị; chưa gửi báo cáo: {{ counts.missing }} đơn vị."
        "{% if previous_reporting_rate %} Kỳ {{ previous_cycle_key }}: tỷ lệ gửi báo cáo {{ previous_reporting_rate }}, "
        "tỷ lệ gửi đúng hạn {{ previous_on_time_rate }}.{% endif %}",
        **BODY,
    )
    para(doc, "{%p for g in unit_groups %}", 13)
    para(doc, [("{{ g.label }} ({{ g.names | length }}): ", {"italic": True}), ("{{ g.names | join(', ') }}.", {})], **BODY)
    para(doc, "{%p endfor %}", 13)
    para(doc, "{%p if invalid_rows %}", 13)
    para(
        doc, "Đơn vị gửi báo cáo không hợp lệ ({{ invalid_rows | length }}), đã được thông báo lỗi để gửi lại:",
        **BODY, keep_next=True,
    )
    _grid(
        doc,
        [
            ("STT", 1.0, "{{ r.stt }}", "center"),
            ("Đơn vị", 5.0, "{{ r.name }}", "left"),
            ("Nội dung chưa đạt yêu cầu", 10.5, "{{ r.reasons }}", "left"),
        ],
        "invalid_rows",
    )
    para(doc, "{%p endif %}", 13)
    # 2. Indicators
    _heading(doc, "2. Kết quả thực hiện các chỉ tiêu")
    para(
        doc,
        "Số liệu tổng hợp từ {{ reported }} báo cáo hợp lệ; chỉ tiêu tỷ lệ (%) là bình quân của các đơn vị có số "
        "liệu; mục tiêu là mốc gần nhất từ năm {{ target_year }} trở đi; chênh lệch là kỳ này trừ mục tiêu"
        "{% if has_previous %}; tăng, giảm là kỳ này trừ kỳ {{ previous_cycle_key }}"
        "{% elif previous_cycle_key %}; kỳ {{ previous_cycle_key }} chưa có số liệu để so sánh"
        "{% else %}; đây là kỳ báo cáo đầu tiên nên chưa có kỳ trước để so sánh{% endif %}.",
        **BODY,
    )
    _caption(doc, "Bảng 1. Kết quả các chỉ tiêu so với mục tiêu và kỳ trước")
    _grid(
        doc,
        [
            ("STT", 1.0, "{{ r.stt }}", "center"),
            ("Chỉ tiêu", 3.7, "{{ r.name }}", "left"),
            ("Đơn vị tính", 1.4, "{{ r.measure }}", "center"),
            ("Kỳ này", 2.4, "{{ r.value }}", "right"),
            ("Mục tiêu", 1.7, "{{ r.target }}", "right"),
            ("Chênh lệch", 1.5, "{{ r.gap }}", "right"),
            ("{{ previous_label }}", 2.4, "{{ r.previous }}", "right"),
            ("Tăng, giảm", 2.4, "{{ r.change }}", "right"),
        ],
        "indicator_rows",
    )
    para(doc, "{%p if attention_rows %}", 13)
    para(
        doc,
        "Đơn vị cần quan tâm: có số liệu thấp hơn mục tiêu, giảm so với kỳ trước, hoặc (chỉ tiêu tỷ lệ chưa có mục "
        "tiêu) thấp nhất; mỗi chỉ tiêu nêu tối đa {{ attention_limit }} đơn vị, danh sách đầy đủ tại Phụ lục số liệu.",
        **BODY, keep_next=True,
    )
    _caption(doc, "Bảng 2. Đơn vị cần quan tâm theo từng chỉ tiêu")
    _grid(
        doc,
        [
            ("STT", 1.0, "{{ r.stt }}", "center"),
            ("Chỉ tiêu", 3.7, "{{ r.name }}", "left"),
            ("Tiêu chí", 3.0, CRITERION, "left"),
            ("Đơn vị (giá trị kỳ này)", 8.8, UNITS, "left"),
        ],
        "attention_rows",
    )
    para(doc, "{%p endif %}", 13)
    # 3. Plan tasks
    para(doc, "{%p if tasks %}", 13)
    _heading(doc, "3. Tình hình thực hiện nhiệm vụ")
    para(
        doc,
        "Theo {{ tasks.source }} ({{ tasks.table }}), các đơn vị báo cáo được giao chủ trì {{ tasks.assigned }} lượt "
        "nhiệm vụ đến hạn báo cáo kỳ này: hoàn thành {{ tasks.completed }} ({{ tasks.rate }}), đúng tiến độ "
        "{{ tasks.on_schedule }}, chậm tiến độ {{ tasks.behind }}, chưa triển khai {{ tasks.not_started }}"
        "{% if tasks.not_reported %}, chưa báo cáo {{ tasks.not_reported }}{% endif %}.",
        **BODY,
    )
    para(
        doc,
        "{% if tasks.past_due %}Có {{ tasks.past_due }} lượt nhiệm vụ đã quá thời hạn hoàn thành theo kế hoạch mà chưa "
        "hoàn thành, của {{ tasks.past_due_units }} đơn vị chủ trì.{% else %}Không có nhiệm vụ quá thời hạn hoàn thành "
        "theo kế hoạch mà chưa hoàn thành.{% endif %}",
        **BODY,
    )
    para(doc, "{%p if tasks.rows %}", 13)
    _caption(doc, "Bảng 3. Đơn vị có nhiều nhiệm vụ quá hạn hoặc tỷ lệ hoàn thành thấp nhất")
    _grid(
        doc,
        [
            ("STT", 1.0, "{{ r.stt }}", "center"),
            ("Đơn vị", 5.2, "{{ r.name }}", "left"),
            ("Nhiệm vụ chủ trì", 2.0, "{{ r.assigned }}", "right"),
            ("Hoàn thành", 2.0, "{{ r.completed }}", "right"),
            ("Tỷ lệ hoàn thành", 2.7, "{{ r.rate }}", "right"),
            ("Quá hạn chưa hoàn thành", 3.6, "{{ r.past_due }}", "right"),
        ],
        "tasks.rows",
    )
    para(doc, "{%p endif %}", 13)
    para(doc, "{%p endif %}", 13)
    para(
        doc,
        "Số liệu chi tiết của từng đơn vị{% if tasks %}, ma trận nhiệm vụ và danh sách nhiệm vụ quá hạn{% endif %} "
        "tại Phụ lục số liệu kèm theo (tệp {{ appendix_file }}){% if actions %}; việc trả lại báo cáo, gia hạn và lý do "
        "gửi muộn trong kỳ tại Phụ lục kèm theo Báo cáo này{% endif %}.",
        **BODY,
    )
    para(doc, "Trên đây là báo cáo tổng hợp kỳ {{ cycle_key }} của {{ issuer }}./.", **BODY)


def _signature(doc) -> None:
    left_w, right_w = SIGNATURE_COLUMNS
    table = fixed_table(doc, 1, SIGNATURE_COLUMNS)
    left, right = table.cell(0, 0), table.cell(0, 1)
    cell_text(left, "Nơi nhận:", 12, bold=True, italic=True, align="left")
    cell_text(left, "{%p for r in recipients %}", 11, align="left")
    cell_text(left, "- {{ r }};", 11, align="left")
    cell_text(left, "{%p endfor %}", 11, align="left")
    cell_text(left, "- Lưu: VT, {{ symbol }}.", 11, align="left")
    cell_text(right, "{%p if signer.authority %}", 13)
    cell_text(right, "{{ signer.authority }}", 13, bold=True)
    cell_text(right, "{%p endif %}", 13)
    cell_text(right, "{{ signer.title }}", 13, bold=True)
    for _ in range(5):  # where the signer signs (and where the PDF's visible signature goes)
        cell_text(right, " ", 13)
    cell_text(right, "{{ signer.name }}", 13, bold=True)


def _annex(doc) -> None:
    """The annex of the operators' actions in the cycle (returned reports, extensions, reasons for lateness)."""
    para(doc, "{%p if actions %}", 13)
    p = para(doc, "", 13)
    p.add_run().add_break(WD_BREAK.PAGE)
    para(doc, "Phụ lục", 13, bold=True, align="center")
    para(doc, "TRẢ LẠI BÁO CÁO, GIA HẠN VÀ LÝ DO GỬI MUỘN TRONG KỲ {{ cycle_key }}", 13, bold=True, align="center")
    para(
        doc, "(Kèm theo Báo cáo số {{ number }}/BC-{{ symbol }} ngày {{ date_short }} của {{ issuer }})", 13,
        italic=True, align="center", after=6,
    )
    _grid(
        doc,
        [
            ("STT", 1.0, "{{ r.stt }}", "center"),
            ("Thời điểm", 2.3, "{{ r.when }}", "center"),
            ("Đơn vị", 3.8, "{{ r.unit }}", "left"),
            ("Nội dung", 3.0, ACTION, "left"),
            ("Lý do", 4.0, "{{ r.reason }}", "left"),
            ("Người thực hiện", 2.4, "{{ r.who }}", "left"),
        ],
        "actions",
    )
    para(doc, "{%p endif %}", 13)


def build(out: Path = OUT) -> Path:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(13)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(0)
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    sec.left_margin, sec.right_margin = MARGINS["left"], MARGINS["right"]
    sec.header_distance = sec.footer_distance = Mm(10)
    page_numbers(sec)
    _header(doc)
    _body(doc)
    para(doc, "", 13)
    _signature(doc)
    _annex(doc)
    props = doc.core_properties
    props.author = props.last_modified_by = "bhxh.reports.docx_template"
    props.title = "Báo cáo tổng hợp"
    props.created = props.modified = FIXED.replace(tzinfo=None)
    props.revision = 1
    buffer = io.BytesIO()
    doc.save(buffer)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(normalised_zip(buffer.getvalue()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()

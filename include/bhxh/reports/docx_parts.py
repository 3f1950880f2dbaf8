"""The building blocks of the consolidated report's DOCX template (bhxh.reports.docx_template): runs in Times New
Roman, paragraphs, short rules, and tables with a fixed layout whose grid (w:tblGrid) equals their cells' widths
(w:tcW) — LibreOffice lays a table out by its grid, Word by its cells."""

from __future__ import annotations

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, Twips

FONT = "Times New Roman"
TEXT_WIDTH_CM = 21.0 - 3.0 - 1.5  # A4 less the left (30 mm) and right (15 mm) margins


def font(run, size: float, *, bold: bool = False, italic: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


_ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
}


def para(
    container,
    text: str | list[tuple[str, dict]] = "",
    size: float = 13,
    *,
    bold=False,
    italic=False,
    align="left",
    indent=False,
    before: float = 0,
    after: float = 0,
    keep_next: bool = False,
    reuse: bool = False,
):
    """A paragraph; `text` is a string or a list of (text, {"bold":..., "italic":...}) runs."""
    p = container.paragraphs[0] if reuse else container.add_paragraph()
    p.alignment = _ALIGN[align]
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.keep_with_next = keep_next or None
    if indent:
        fmt.first_line_indent = Cm(1.27)
    runs = [(text, {})] if isinstance(text, str) else text
    for piece, style in runs:
        if piece:
            font(p.add_run(piece), size, bold=style.get("bold", bold), italic=style.get("italic", italic))
    return p


def rule(container, width_cm: float, column_cm: float):
    """A horizontal line `width_cm` long, centred in a column: an empty, tiny paragraph with a bottom border,
    narrowed by its indents (cell margins of 0.19 cm each side are already taken)."""
    p = para(container, align="center", after=2)
    side = Cm(max(0.0, (column_cm - 0.38 - width_cm) / 2))
    p.paragraph_format.left_indent, p.paragraph_format.right_indent = side, side
    font(p.add_run(""), 2)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    p._element.get_or_add_pPr().append(borders)
    return p


def cell_text(cell, text, size: float, *, bold=False, italic=False, align="center", pad=False):
    reuse = not cell.paragraphs[0].runs and len(cell.paragraphs) == 1 and not cell.paragraphs[0].text
    pad_pt = 1.5 if pad else 0
    return para(cell, text, size, bold=bold, italic=italic, align=align, reuse=reuse, before=pad_pt, after=pad_pt)


def fixed_table(
    doc, rows: int, widths_cm: tuple[float, ...] | list[float], *, style: str | None = None, margin_cm: float | None = None
):
    """A table with a fixed layout whose grid columns equal its cells' widths (twips, exact); `margin_cm`: the
    cells' left and right margins (Word's default is 0.19 cm)."""
    if sum(widths_cm) > TEXT_WIDTH_CM + 0.005:
        raise ValueError(f"table of {sum(widths_cm):.2f} cm is wider than the text ({TEXT_WIDTH_CM} cm)")
    twips = [round(w * 1440 / 2.54) for w in widths_cm[:-1]]
    twips.append(round(sum(widths_cm) * 1440 / 2.54) - sum(twips))  # the rounding goes to the last column
    table = doc.add_table(rows=rows, cols=len(twips))
    if style:
        table.style = style
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    tbl_w = tbl_pr.find(qn("w:tblW"))
    if tbl_w is None:
        tbl_w = OxmlElement("w:tblW")
        tbl_pr.append(tbl_w)
    tbl_w.set(qn("w:w"), str(sum(twips)))
    tbl_w.set(qn("w:type"), "dxa")
    layout = tbl_pr.find(qn("w:tblLayout"))
    if layout is None:
        layout = OxmlElement("w:tblLayout")
        tbl_pr.append(layout)
    layout.set(qn("w:type"), "fixed")
    if margin_cm is not None:
        margins = OxmlElement("w:tblCellMar")
        for side in ("left", "right"):
            el = OxmlElement(f"w:{side}")
            el.set(qn("w:w"), str(round(margin_cm * 1440 / 2.54)))
            el.set(qn("w:type"), "dxa")
            margins.append(el)
        tbl_pr.append(margins)
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), twips, strict=True):
        col.set(qn("w:w"), str(width))
    for row in table.rows:
        for cell, width in zip(row.cells, twips, strict=True):
            cell.width = Twips(width)
    return table


def header_row(row) -> None:
    """Repeat the row at the top of every page the table runs onto."""
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def cant_split(row) -> None:
    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def page_numbers(section) -> None:
    """Page numbers centred at the top from page 2 (Phụ lục I, "số trang")."""
    section.different_first_page_header_footer = True
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    font(run, 13)
    for kind, text in (("begin", None), (None, " PAGE "), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._element.append(el)

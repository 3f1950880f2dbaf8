"""The consolidated workbooks as people work in them: text never becomes a formula, numbers with thousands
separators and one decimal at most, dates as dates, columns as wide as their content, the header frozen and
filtered, A4 landscape fit to width with the header repeated, the totals in bold; and LibreOffice opens it."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from docs_helpers import consolidated, pdf_pages, pdf_text
from openpyxl import load_workbook

from bhxh.reports.documents import render_reports
from bhxh.reports.pdf import convert
from bhxh.reports.xlsx import Column, Sheet, write_xlsx


def test_text_stays_text_and_numbers_stay_numbers(tmp_path):
    long_name = "Tổng hợp đơn vị theo kỳ báo cáo 2019 (dài hơn 31 ký tự)"
    path = write_xlsx(tmp_path / "a.xlsx", {
        long_name: (
            ["Đơn vị", "Số thu (triệu đồng)", "Ghi chú"],
            [["BHXH tỉnh Hà Giang", 1234.5, "=HYPERLINK(\"http://x\")"], ["+cmd|' /C calc'!A0", 7, None], ["@SUM(1)", -2, "-1+1"]],
        ),
        "Nhiệm vụ": (["Mã"], [["1.2.3"]]),
    })
    wb = load_workbook(path)
    assert wb.sheetnames == [long_name[:31], "Nhiệm vụ"]  # Excel's limit
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == ["Đơn vị", "Số thu (triệu đồng)", "Ghi chú"]
    assert all(c.font.b for c in ws[1])
    assert ws.column_dimensions["A"].width >= len("BHXH tỉnh Hà Giang")
    assert ws["B2"].value == 1234.5 and ws["B3"].value == 7 and ws["B4"].value == -2
    assert ws["B2"].number_format == "#,##0.0" and ws["B3"].number_format == "#,##0"
    formulas = [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    assert ws["C2"].value == "'=HYPERLINK(\"http://x\")"
    assert ws["A3"].value == "'+cmd|' /C calc'!A0" and ws["A4"].value == "'@SUM(1)" and ws["C4"].value == "'-1+1"
    assert ws["C3"].value is None


def test_values_are_shown_as_people_read_them(tmp_path):
    sheet = Sheet(
        [Column("Đơn vị", "text"), Column("Tỷ lệ (%)", "percent"), Column("Số người", "int"), Column("Nhận lúc", "datetime"),
         Column("Hạn", "date")],
        [["A", 90.55272727272728, 18502523.0, dt.datetime(2019, 11, 6, 7, 54, tzinfo=dt.UTC), dt.date(2019, 11, 14)]],
        totals=[["TỔNG", 90.5, 18502523, None, None]],
    )
    ws = load_workbook(write_xlsx(tmp_path / "b.xlsx", {"S": sheet}))["S"]
    assert ws["B2"].value == 90.6 and ws["B2"].number_format == "#,##0.0"
    assert ws["C2"].value == 18502523 and ws["C2"].number_format == "#,##0"
    assert ws["D2"].value == dt.datetime(2019, 11, 6, 14, 54) and ws["D2"].number_format == "dd/mm/yyyy hh:mm"  # local time
    assert ws["E2"].value == dt.datetime(2019, 11, 14) and ws["E2"].number_format == "dd/mm/yyyy"
    assert ws["A3"].font.b and ws["C3"].font.b
    assert ws.auto_filter.ref == "A1:E2"  # the totals stay out of the filter and of a sort


@pytest.fixture(scope="module")
def appendix(tmp_path_factory, demo_store):
    """The 2019 demo cycle's documents: (consolidation, paths)."""
    cons, comp = consolidated(demo_store, "nq51_action_programme", "2019")
    return cons, render_reports(cons, tmp_path_factory.mktemp("appendix"), comp, log=lambda _: None)


def test_the_appendix_workbook(appendix):
    cons, paths = appendix
    wb = load_workbook(paths["xlsx"])
    for ws in wb.worksheets:  # every sheet prints on A4 landscape, its header on each page
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$1:$1" and ws.freeze_panes and ws.auto_filter.ref.startswith("A1:")
        assert [c.data_type for row in ws.iter_rows() for c in row if c.data_type == "f"] == []
    ws = wb["Tổng hợp"]
    assert ws.page_setup.fitToWidth == 1 and ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{cons.expected + 1}"
    header = [c.value for c in ws[1]]
    rows = list(ws.iter_rows(min_row=2))
    names = [r[1].value for r in rows[:-1]]
    assert ws.column_dimensions["B"].width >= min(34, max(len(n) for n in names))
    for index, title in enumerate(header):  # a header fits its column on at most three lines
        assert ws.column_dimensions[ws.cell(1, index + 1).column_letter].width * 3 >= len(title)
    bb = header.index("Số người tham gia BHXH bắt buộc (người)")
    coverage = header.index("Tỷ lệ bao phủ BHYT (%)")
    received = header.index("Thời điểm nhận (giờ Việt Nam)")
    valued = [r for r in rows[:-1] if r[bb].value is not None]
    assert valued and all(r[bb].number_format == "#,##0" and isinstance(r[bb].value, int) for r in valued)
    assert all(r[coverage].number_format == "#,##0.0" and round(r[coverage].value, 1) == r[coverage].value
               for r in valued)
    assert all(isinstance(r[received].value, dt.datetime) for r in valued)
    total = rows[-1]
    assert total[1].value.startswith("TỔNG HỢP") and total[1].font.b
    assert total[coverage].value == round(cons.totals["BHYT_BAO_PHU"], 1)  # not 90.55272727272728
    matrix = wb["Ma trận nhiệm vụ"]
    assert matrix.print_title_cols == "$A:$B" and matrix.page_setup.fitToWidth > 1


def test_libreoffice_opens_the_appendix(tmp_path, appendix):
    """Converted by LibreOffice (it refuses a workbook it would have to repair): the pages are few, the numbers
    and names are there, the first sheet's CSV has every unit and the totals."""
    cons, paths = appendix
    pdf = convert(paths["xlsx"], tmp_path / "appendix.pdf")
    assert pdf_pages(pdf) <= 60  # it printed as 120 pages without the print settings
    text = pdf_text(pdf, first=1, last=1)
    assert "Trung tâm Lưu trữ" in text and "Trang 1/" in text  # a unit, and the page number in the footer
    first_sheet = convert(paths["xlsx"], tmp_path / "tong_hop.csv", to="csv:Text - txt - csv (StarCalc):44,34,76,1")
    table = list(csv.reader(io.StringIO(first_sheet.read_text(encoding="utf-8"))))
    assert len(table) == 1 + cons.expected + 1
    assert table[-1][1].startswith("TỔNG HỢP")
    assert {row[0] for row in table[1:-1]} == {u.id for u in cons.plan.units}

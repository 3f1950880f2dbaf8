"""The consolidated workbooks: text never becomes a formula, headers bold, values and widths as written."""

from __future__ import annotations

from openpyxl import load_workbook

from bhxh.reports.xlsx import write_xlsx


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
    assert ws.column_dimensions["A"].width == 34 and ws.column_dimensions["B"].width == 18
    assert ws["B2"].value == 1234.5 and ws["B3"].value == 7 and ws["B4"].value == -2
    formulas = [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    assert ws["C2"].value == "'=HYPERLINK(\"http://x\")"
    assert ws["A3"].value == "'+cmd|' /C calc'!A0" and ws["A4"].value == "'@SUM(1)" and ws["C4"].value == "'-1+1"
    assert ws["C3"].value is None

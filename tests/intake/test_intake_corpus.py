"""A corpus of bad (and tricky but good) report files, generated here, each with the error code it must give.

Every case is checked through `check_submission` (what `ingest` decides: the file against the cycle its name
says it was sent for). Where a problem has a place, its Vietnamese and English messages must name it.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bhxh.calendar.forms import file_name, get_form
from bhxh.calendar.units import default_registry
from bhxh.intake.forms_xlsx import encode_cp1258, form_rows, write_report_csv, write_report_xlsx
from bhxh.intake.reading import MAX_FILE_BYTES
from bhxh.intake.submission import check_submission
from bhxh_bench.hostile_files import fill_tasks

OB, PERIOD, UNIT = "nq51_action_programme", "2019", "bhxh_tinh_yen_bai"
SHEET = "Chỉ tiêu"
VALUES = {
    "BHXH_BB": 120_000, "BHXH_TN": 8_000, "BHTN": 100_000, "BHYT": 700_000, "BHYT_BAO_PHU": 91.5,
    "TONG_THU": 2_500.5, "CHAM_DONG": 12, "GIAO_DICH_DT": 97, "NHIEM_VU_HT": 9, "NHIEM_VU_GIAO": 12,
}
# spreadsheet row of each indicator in the template (header on row 1)
ROW = {code: i + 2 for i, code in enumerate(VALUES)}
ACTUAL, NOTE = "Thực hiện", "Ghi chú"

ONE_STOP = {
    "KY_TRUOC": 10, "NHAN_TRUC_TUYEN": 40, "NHAN_TRUC_TIEP": 45, "NHAN_BUU_CHINH": 5,
    "GQ_TRUOC_HAN": 20, "GQ_DUNG_HAN": 50, "GQ_QUA_HAN": 5, "DANG_GQ_TRONG_HAN": 10, "DANG_GQ_QUA_HAN": 3,
    "TRA_LAI_RUT": 12,
}


def _meta(ob=OB, period=PERIOD, unit=UNIT) -> dict[str, str]:
    return {"obligation": ob, "period": period, "unit": unit}


def _xlsx(tmp: Path, *, meta=None, rows=None, name=None, ob=OB, period=PERIOD, unit=UNIT, edit=None) -> tuple[str, bytes]:
    form = get_form("procedure_records" if ob == "one_stop_2019" else "nq51_indicators")
    name = name or file_name(ob, period, unit)
    path = tmp / "x" / name
    meta = meta if meta is not None else _meta(ob, period, unit)
    write_report_xlsx(path, form, meta, rows if rows is not None else form_rows(form, VALUES if ob == OB else ONE_STOP))
    if ob == OB and meta.get("unit") in default_registry():  # a plan-based report carries its task sheets
        fill_tasks(path, meta["unit"], period if period in ("2019", "2026") else PERIOD)
    if edit:
        wb = load_workbook(path)
        edit(wb)
        wb.save(path)
    return name, path.read_bytes()


def _rows(**changes) -> list[list]:
    rows = form_rows(get_form("nq51_indicators"), VALUES)
    for row in rows:
        if row[0] in changes:
            row[4] = changes[row[0]]
    return rows


def _csv_text(rows=None, meta=None, form_id="nq51_indicators") -> str:
    form = get_form(form_id)
    meta = meta or _meta()
    lines = [f"# {label}: {meta.get(key, '')}" for label, key in {"Mã đơn vị": "unit", "Mã báo cáo": "obligation", "Kỳ báo cáo": "period"}.items()]
    lines.append(";".join(c.header for c in form.columns))
    for row in rows if rows is not None else form_rows(form, VALUES):
        lines.append(";".join("" if v is None else str(v) for v in row))
    return "\n".join(lines) + "\n"


def _csv(tmp: Path, data: bytes, name: str | None = None) -> tuple[str, bytes]:
    return name or file_name(OB, PERIOD, UNIT, ".csv"), data


def _set(ws, ref: str, value):
    ws[ref] = value


def _cell(code: str, column: str = "E") -> str:
    return f"{column}{ROW[code]}"


def _truncated_xlsx(tmp):
    name, data = _xlsx(tmp)
    return name, data[: len(data) // 2]


def _crc_broken_xlsx(tmp):
    name, data = _xlsx(tmp)
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf) as zf:
        info = zf.getinfo("xl/worksheets/sheet2.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw = bytearray(data)
    for i in range(start + 10, start + 40):
        raw[i] ^= 0x5A
    return name, bytes(raw)


def _zip_not_xlsx(tmp):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("bao_cao.txt", "Báo cáo năm 2019")
    return file_name(OB, PERIOD, UNIT), buf.getvalue()


def _merge_header(wb):
    wb[SHEET].merge_cells("D1:E1")


def _formula(wb):
    wb[SHEET][_cell("TONG_THU")] = "=1000+1500.5"


def _duplicate_row(wb):
    ws = wb[SHEET]
    ws.append([c.value for c in ws[ROW["CHAM_DONG"]]])


def _duplicate_code(wb):
    ws = wb[SHEET]
    row = [c.value for c in ws[ROW["CHAM_DONG"]]]
    row[4] = 99
    ws.append(row)


def _extra_column(wb):
    wb[SHEET]["G1"] = "Nguồn số liệu"
    wb[SHEET]["G2"] = "Phòng Thu"


def _unnamed_column(wb):
    wb[SHEET]["H5"] = 42


def _missing_column(wb):
    wb[SHEET].delete_cols(3)  # Đơn vị tính


def _note(prefix: str):
    def edit(wb):
        cell = wb[SHEET][_cell("BHXH_BB", "F")]
        cell.value = f"{prefix}tăng so với năm trước"
        cell.data_type = "s"  # typed as text (e.g. with a leading apostrophe), not a formula

    return edit


def _blank_meta_unit(wb):
    wb["Thông tin"]["B1"] = None


def _drop_meta_sheet(wb):
    del wb["Thông tin"]


def _rename_data_sheet(wb):
    wb[SHEET].title = "Sheet1"


def _title_row(wb):
    wb[SHEET].insert_rows(1)
    wb[SHEET]["A1"] = "BÁO CÁO CHỈ TIÊU NĂM 2019"


def _bad_measure(wb):
    wb[SHEET][_cell("BHXH_BB", "C")] = "triệu đồng"


def _unknown_code(wb):
    wb[SHEET][_cell("CHAM_DONG", "A")] = "CHAM_DONG_X"


def _vn_separators(wb):
    wb[SHEET][_cell("TONG_THU")] = "1.234,5"
    wb[SHEET][_cell("BHXH_BB")] = "120.000"


def _ole2(tmp):
    return file_name(OB, PERIOD, UNIT), bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504 + b"EncryptedPackage" * 32


def _oversized(tmp):
    name, data = _xlsx(tmp)
    return name, data + b"\x00" * (MAX_FILE_BYTES + 1 - len(data))


@dataclass
class Case:
    id: str
    build: Callable[[Path], tuple[str, bytes]]
    codes: set[str]  # exactly the codes the file must produce (empty: accepted)
    where: tuple[str | None, int | None, str | None] | None = None  # (sheet, row, column) of the first code
    check: Callable | None = None


ONE_STOP_NAME = file_name("one_stop_2019", "2019", UNIT)
P = ROW  # shorthand

CASES = [
    Case("empty_file", lambda t: (file_name(OB, PERIOD, UNIT), b""), {"empty_file"}),
    Case("text_renamed_xlsx", lambda t: (file_name(OB, PERIOD, UNIT), "Kính gửi Vụ KHĐT, báo cáo đính kèm.".encode()), {"not_a_spreadsheet"}),
    Case("pdf_renamed_xlsx", lambda t: (file_name(OB, PERIOD, UNIT), b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), {"not_a_spreadsheet"}),
    Case("encrypted_ole2", _ole2, {"encrypted_or_xls"}),
    Case("truncated_zip", _truncated_xlsx, {"not_a_spreadsheet"}),
    Case("crc_broken_zip", _crc_broken_xlsx, {"corrupt_workbook"}),
    Case("zip_but_not_workbook", _zip_not_xlsx, {"corrupt_workbook"}),
    Case("oversized", _oversized, {"file_too_large"}),
    Case("unsupported_extension", lambda t: ("bao_cao.pdf", b"%PDF-1.4"), {"unsupported_type"}),
    Case("xlsx_renamed_csv", lambda t: (file_name(OB, PERIOD, UNIT, ".csv"), _xlsx(t)[1]), {"not_csv"}),
    Case("binary_csv", lambda t: _csv(t, b"abc;\x01\x02\x00\x00\xff" * 20), {"not_csv"}),
    Case("csv_cp1258", lambda t: _csv(t, encode_cp1258(_csv_text())), set()),
    Case("csv_undecodable", lambda t: _csv(t, _csv_text().encode("utf-8") + b"\x81\x8d\xc3"), {"csv_encoding"}),
    Case("csv_utf16le_bom", lambda t: _csv(t, b"\xff\xfe" + _csv_text().encode("utf-16-le")), set()),
    Case("csv_utf16be_bom", lambda t: _csv(t, b"\xfe\xff" + _csv_text().encode("utf-16-be")), set()),
    Case("csv_utf16le_nobom", lambda t: _csv(t, _csv_text().encode("utf-16-le")), set()),
    Case("csv_utf16be_nobom", lambda t: _csv(t, _csv_text().encode("utf-16-be")), set()),
    Case("csv_utf16_odd_length", lambda t: _csv(t, b"\xff\xfe" + _csv_text().encode("utf-16-le") + b"\x00"), {"csv_encoding"}),
    Case("csv_dash_in_note", lambda t: _csv(t, ("\ufeff" + _csv_text(rows=[[*r[:5], "-giảm" if r[0] == "BHTN" else None] for r in form_rows(get_form("nq51_indicators"), VALUES)])).encode()),
         {"formula_text"}, (None, P["BHTN"] + 3, NOTE)),
    Case("merged_header", lambda t: _xlsx(t, edit=_merge_header), {"merged_header"}, (SHEET, 1, "D1:E1")),
    Case("formula_instead_of_value", lambda t: _xlsx(t, edit=_formula), {"formula"}, (SHEET, P["TONG_THU"], ACTUAL)),
    Case("vietnamese_separators", lambda t: _xlsx(t, edit=_vn_separators), set(),
         check=lambda parsed: parsed.frame.set_index("code").loc["TONG_THU", "actual"] == 1234.5
         and parsed.frame.set_index("code").loc["BHXH_BB", "actual"] == 120000),
    Case("text_in_number", lambda t: _xlsx(t, rows=_rows(BHXH_TN="khoảng tám nghìn")), {"not_a_number"}, (SHEET, P["BHXH_TN"], ACTUAL)),
    Case("duplicated_row", lambda t: _xlsx(t, edit=_duplicate_row), {"duplicate_row"}, (SHEET, 12, None)),
    Case("duplicated_code", lambda t: _xlsx(t, edit=_duplicate_code), {"duplicate_indicator"}, (SHEET, 12, "Mã chỉ tiêu")),
    Case("extra_column", lambda t: _xlsx(t, edit=_extra_column), {"extra_column"}, (SHEET, 1, "Nguồn số liệu")),
    Case("data_without_header", lambda t: _xlsx(t, edit=_unnamed_column), {"extra_column"}, (SHEET, 1, "H")),
    Case("missing_column", lambda t: _xlsx(t, edit=_missing_column), {"missing_column"}, (SHEET, 1, "Đơn vị tính")),
    Case("note_starts_with_equals", lambda t: _xlsx(t, edit=_note("=")), {"formula_text"}, (SHEET, P["BHXH_BB"], NOTE)),
    Case("note_starts_with_plus", lambda t: _xlsx(t, edit=_note("+")), {"formula_text"}, (SHEET, P["BHXH_BB"], NOTE)),
    Case("note_starts_with_minus", lambda t: _xlsx(t, edit=_note("-")), {"formula_text"}, (SHEET, P["BHXH_BB"], NOTE)),
    Case("note_starts_with_at", lambda t: _xlsx(t, edit=_note("@")), {"formula_text"}, (SHEET, P["BHXH_BB"], NOTE)),
    Case("percent_over_100", lambda t: _xlsx(t, rows=_rows(BHYT_BAO_PHU=104.5)), {"percent_range"}, (SHEET, P["BHYT_BAO_PHU"], ACTUAL)),
    Case("negative_number", lambda t: _xlsx(t, rows=_rows(CHAM_DONG=-3)), {"negative"}, (SHEET, P["CHAM_DONG"], ACTUAL)),
    Case("fractional_count", lambda t: _xlsx(t, rows=_rows(BHXH_BB=1200.5)), {"not_integer"}, (SHEET, P["BHXH_BB"], ACTUAL)),
    Case("wrong_measure", lambda t: _xlsx(t, edit=_bad_measure), {"measure"}, (SHEET, P["BHXH_BB"], "Đơn vị tính")),
    Case("unknown_indicator", lambda t: _xlsx(t, edit=_unknown_code), {"unknown_indicator", "missing_indicator"}, (SHEET, P["CHAM_DONG"], "Mã chỉ tiêu")),
    Case("missing_indicator", lambda t: _xlsx(t, rows=[r for r in _rows() if r[0] != "BHTN"]), {"missing_indicator"}, (SHEET, None, "Mã chỉ tiêu")),
    Case("required_value_empty", lambda t: _xlsx(t, rows=_rows(GIAO_DICH_DT=None)), {"required_value"}, (SHEET, P["GIAO_DICH_DT"], ACTUAL)),
    Case("completed_over_assigned", lambda t: _xlsx(t, rows=_rows(NHIEM_VU_HT=15)), {"not_more_than"}, (SHEET, P["NHIEM_VU_HT"], ACTUAL)),
    Case("missing_metadata", lambda t: _xlsx(t, edit=_blank_meta_unit), {"missing_meta"}, ("Thông tin", None, "Mã đơn vị")),
    Case("missing_meta_sheet", lambda t: _xlsx(t, edit=_drop_meta_sheet), {"missing_meta_sheet"}, ("Thông tin", None, None)),
    Case("missing_data_sheet", lambda t: _xlsx(t, edit=_rename_data_sheet), {"missing_data_sheet"}, (SHEET, None, None)),
    Case("title_row_above_header", lambda t: _xlsx(t, edit=_title_row), set()),
    Case("wrong_period_in_file", lambda t: _xlsx(t, meta=_meta(period="2018")), {"wrong_period", "filename_mismatch"}, ("Thông tin", None, "Kỳ báo cáo")),
    Case("period_outside_calendar", lambda t: _xlsx(t, period="2010"), {"wrong_period"}, ("Thông tin", None, "Kỳ báo cáo")),
    Case("unknown_unit", lambda t: _xlsx(t, unit="bhxh_tinh_atlantis"), {"unknown_unit"}, ("Thông tin", None, "Mã đơn vị")),
    Case("unit_gone_by_deadline", lambda t: _xlsx(t, period="2026"), {"unit_not_existing"}, ("Thông tin", None, "Mã đơn vị")),
    Case("filename_disagrees", lambda t: _xlsx(t, name=file_name(OB, PERIOD, "bhxh_tinh_lao_cai")), {"filename_mismatch"}, ("Thông tin", None, "Mã đơn vị")),
    Case("filename_not_conventional", lambda t: _xlsx(t, name="Bao cao NQ51 Yen Bai (final).xlsx"), {"filename"}),
    Case("records_do_not_add_up", lambda t: _xlsx(t, ob="one_stop_2019", rows=[
        [*r[:4], (v + 7 if r[0] == "GQ_QUA_HAN" else v), r[5]] for r in form_rows(get_form("procedure_records"), ONE_STOP) for v in [r[4]]]),
        {"records_balance"}, (SHEET, None, ACTUAL)),
    Case("records_add_up", lambda t: (ONE_STOP_NAME, _xlsx(t, ob="one_stop_2019")[1]), set()),
    Case("records_csv_semicolon", lambda t: _csv(t, _csv_text(form_rows(get_form("procedure_records"), ONE_STOP), _meta("one_stop_2019"), "procedure_records").encode("utf-8-sig"),
                                                 file_name("one_stop_2019", "2019", UNIT, ".csv")), set()),
]


def test_corpus_is_large_enough():
    bad = [c for c in CASES if c.codes]
    assert len(bad) >= 30, len(bad)
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus(case: Case, tmp_path: Path):
    filename, content = case.build(tmp_path)
    parsed, problems, _cycle, _filed = check_submission(content, filename)
    codes = {p.code for p in problems}
    assert codes == case.codes, [p.message_en for p in problems]
    for p in problems:
        assert p.message_vi and p.message_en and p.message_vi != p.message_en
        assert "Traceback" not in p.message_en
    if case.where:
        sheet, row, column = case.where
        first = sorted(case.codes)[0] if len(case.codes) == 1 else next(iter(sorted(case.codes - {"filename_mismatch", "missing_indicator"})))
        hits = [p for p in problems if p.code == first]
        assert any((p.sheet, p.row, p.column) == (sheet, row, column) for p in hits), [(p.sheet, p.row, p.column) for p in hits]
        p = next(p for p in hits if (p.sheet, p.row, p.column) == (sheet, row, column))
        if sheet:
            assert f"Sheet '{sheet}'" in p.message_vi and f"Sheet '{sheet}'" in p.message_en
        if row:
            assert f"dòng {row}" in p.message_vi.lower() and f"row {row}" in p.message_en.lower()
        if column:
            assert f"cột '{column}'" in p.message_vi.lower() or f"cột '{column.lower()}'" in p.message_vi.lower()
            assert f"column '{column}'" in p.message_en or f"column '{column.lower()}'" in p.message_en.lower()
    if case.check:
        assert case.check(parsed)


def test_formula_cell_gives_one_problem_only(tmp_path):
    filename, content = _xlsx(tmp_path, edit=_formula)
    _parsed, problems, _, _ = check_submission(content, filename)
    at_cell = [p for p in problems if p.row == ROW["TONG_THU"]]
    assert [p.code for p in at_cell] == ["formula"]
    assert "Paste" in at_cell[0].message_en and "công thức" in at_cell[0].message_vi


def test_cp1258_csv_keeps_vietnamese_text(tmp_path):
    rows = form_rows(get_form("nq51_indicators"), VALUES)
    rows[0][5] = "Tăng do mở rộng đối tượng"
    filename, content = _csv(tmp_path, encode_cp1258(_csv_text(rows)))
    parsed, problems, _, _ = check_submission(content, filename)
    assert problems == []
    assert parsed.frame.set_index("code").loc["BHXH_BB", "note"] == "Tăng do mở rộng đối tượng"


def test_write_report_csv_cp1258_roundtrip(tmp_path):
    form = get_form("nq51_indicators")
    path = write_report_csv(tmp_path / file_name(OB, PERIOD, UNIT, ".csv"), form, _meta(), form_rows(form, VALUES), encoding="cp1258")
    _parsed, problems, _, filed = check_submission(path.read_bytes(), path.name)
    assert problems == [] and filed == {"obligation": OB, "period": PERIOD, "unit": UNIT}

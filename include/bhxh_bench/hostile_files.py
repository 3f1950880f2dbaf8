"""The files of the hostile-input suite (tests/intake/test_hostile.py) and of its benchmark (hostile.py): a good
2019 Resolution 51 report of BHXH tỉnh Yên Bái, and files built from it, or from nothing, the way an attacker or
a clumsy uploader would, one family per class of the intake's limits.

Every builder writes into a folder and returns the path; the XLSX ones edit the workbook's XML parts directly
(a real spreadsheet program would never write most of them).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

OB, PERIOD, UNIT = "nq51_action_programme", "2019", "bhxh_tinh_yen_bai"
VALUES = {"BHXH_BB": 120_000, "BHXH_TN": 8_000, "BHTN": 100_000, "BHYT": 700_000, "BHYT_BAO_PHU": 91.5,
          "TONG_THU": 2_500.5, "CHAM_DONG": 12, "GIAO_DICH_DT": 97, "NHIEM_VU_HT": 9, "NHIEM_VU_GIAO": 12}
DATA_PART = "xl/worksheets/sheet2.xml"  # the form's sheet "Chỉ tiêu" in a workbook written by write_report_xlsx
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def name_of(unit: str = UNIT, period: str = PERIOD, ob: str = OB, suffix: str = ".xlsx") -> str:
    from bhxh.calendar.forms import file_name

    return file_name(ob, period, unit, suffix)


def fill_tasks(path: Path, unit: str = UNIT, period: str = PERIOD, ob: str = OB, status: str = "Đúng tiến độ") -> Path:
    """Add the unit's task sheets to a plan-based report, every task with a status (a valid report on tasks)."""
    from openpyxl import load_workbook

    from bhxh.calendar.catalogue import default_catalogue
    from bhxh.calendar.plans.model import load_plans
    from bhxh.calendar.plans.task_form import TASK_SHEETS, TITLE_ROWS
    from bhxh.intake.task_sheets import write_task_sheets

    catalogue = default_catalogue()
    plan = load_plans()[catalogue.get(ob).plan]
    day = catalogue.cycle(ob, period).effective_last_day
    wb = load_workbook(path)
    write_task_sheets(wb, plan, unit, day)
    for sheet in TASK_SHEETS:
        ws = wb[sheet]
        for row in range(TITLE_ROWS + 2, ws.max_row + 1):
            if ws.cell(row, 1).value:
                ws.cell(row, 6, status)
    wb.save(path)
    return path


def good_report(folder: Path, *, unit: str = UNIT, period: str = PERIOD, values: dict | None = None, name: str | None = None,
                meta: dict | None = None, rows: list | None = None, tasks: bool = True, edit: Callable | None = None) -> Path:
    """A valid XLSX report (with its filled task sheets) unless the arguments say otherwise; `edit(workbook)`
    changes it through openpyxl before it is saved."""
    from openpyxl import load_workbook

    from bhxh.calendar.forms import get_form
    from bhxh.intake.forms_xlsx import form_rows, write_report_xlsx

    form = get_form("nq51_indicators")
    path = folder / (name or name_of(unit, period))
    write_report_xlsx(path, form, meta if meta is not None else {"unit": unit, "obligation": OB, "period": period},
                      rows if rows is not None else form_rows(form, {**VALUES, **(values or {})}))
    meta_unit = (meta or {}).get("unit", unit)
    if tasks:
        from bhxh.calendar.units import default_registry

        if meta_unit in default_registry():
            fill_tasks(path, meta_unit, period)
    if edit is not None:
        wb = load_workbook(path)
        edit(wb)
        wb.save(path)
    return path


def good_csv(folder: Path, *, unit: str = UNIT, period: str = PERIOD, values: dict | None = None) -> Path:
    from bhxh.calendar.forms import get_form
    from bhxh.intake.forms_xlsx import form_rows, write_report_csv

    form = get_form("nq51_indicators")
    return write_report_csv(folder / name_of(unit, period, suffix=".csv"), form, {"unit": unit, "obligation": OB, "period": period},
                            form_rows(form, {**VALUES, **(values or {})}))


# -- rewriting parts of a workbook -----------------------------------------------------------------------------
def rezip(source: bytes, replace: dict[str, bytes | Callable[[bytes], bytes]] | None = None, add: dict[str, bytes] | None = None,
          *, level: int = 6) -> bytes:
    """The workbook with some parts replaced (bytes, or a function of the old bytes) and others added."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename in replace:
                new = replace[info.filename]
                data = new(data) if callable(new) else new
            zout.writestr(info.filename, data)
        for name, data in add.items():
            zout.writestr(name, data)
    return out.getvalue()


_INLINE = re.compile(rb'<c ([^>]*?)t="inlineStr"([^>]*)><is><t[^>]*>(.*?)</t></is></c>', re.S)


def to_shared_strings(source: bytes) -> bytes:
    """The workbook as Excel writes it: every text cell a reference into xl/sharedStrings.xml (openpyxl writes
    inline strings)."""
    table: dict[bytes, int] = {}

    def cell(m: re.Match) -> bytes:
        index = table.setdefault(m[3], len(table))
        return b'<c ' + m[1] + b't="s"' + m[2] + b"><v>" + str(index).encode() + b"</v></c>"

    with zipfile.ZipFile(io.BytesIO(source)) as z:
        sheets = {n: _INLINE.sub(cell, z.read(n)) for n in z.namelist() if n.startswith("xl/worksheets/sheet")}
        rels = z.read("xl/_rels/workbook.xml.rels")
        types = z.read("[Content_Types].xml")
    sst = (f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}" count="{len(table)}" uniqueCount="{len(table)}">'.encode()
           + b"".join(b'<si><t xml:space="preserve">' + text + b"</t></si>" for text in table) + b"</sst>")
    rels = rels.replace(b"</Relationships>", b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml" Id="rIdSst"/></Relationships>')
    types = types.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    return rezip(source, {**sheets, "xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types}, add={"xl/sharedStrings.xml": sst})


def _insert_cells(xml: bytes, cells: str, *, at_end: bool = True) -> bytes:
    """Rows/cells added inside <sheetData> (at its end)."""
    return xml.replace(b"</sheetData>", cells.encode() + b"</sheetData>") if at_end else xml


def _with_streamed_part(source: bytes, name: str, head: bytes, body: Callable[[int], bytes], count: int, tail: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            if info.filename == name:
                continue
            zout.writestr(info.filename, zin.read(info.filename))
        zinfo = zipfile.ZipInfo(name, date_time=(2019, 11, 1, 0, 0, 0))
        zinfo.compress_type = zipfile.ZIP_DEFLATED
        with zout.open(zinfo, "w", force_zip64=True) as fh:
            fh.write(head)
            batch = []
            for i in range(count):
                batch.append(body(i))
                if len(batch) >= 10_000:
                    fh.write(b"".join(batch))
                    batch.clear()
            fh.write(b"".join(batch))
            fh.write(tail)
    return out.getvalue()


def _sheet_head(xml: bytes) -> tuple[bytes, bytes]:
    """The data sheet's XML before and after the end of its rows: where more rows can be streamed in."""
    end = xml.index(b"</sheetData>")
    return xml[:end], xml[end:]


# -- the families ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hostile:
    """One hostile file: how to build it, and the problem codes its refusal must carry (empty: accepted)."""

    id: str
    family: str
    build: Callable[[Path], Path]
    codes: frozenset[str]
    heavy: bool = False  # slow to build or to refuse: marked slow in the tests


def _good_bytes(folder: Path, **kwargs) -> bytes:
    return good_report(folder / "good_base", **kwargs).read_bytes()


def _write(folder: Path, data: bytes, name: str | None = None) -> Path:
    path = folder / (name or name_of())
    path.write_bytes(data)
    return path


def far_cell(folder: Path) -> Path:
    """A good report with one more cell, far away (XFD1048576): 16,384 columns x a million rows, declared."""
    data = rezip(_good_bytes(folder), {DATA_PART: lambda x: _insert_cells(x, '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')})
    return _write(folder, data)


def far_empty_cell(folder: Path) -> Path:
    """A good report whose sheet declares A1:XFD1048576 and holds one empty, formatted cell there: accepted."""
    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml)
        return _insert_cells(xml, '<row r="1048576"><c r="XFD1048576" s="0"/></row>')
    return _write(folder, rezip(_good_bytes(folder), {DATA_PART: edit}))


def false_dimension(folder: Path) -> Path:
    """A good report whose <dimension> claims the whole grid: accepted (the dimension is never believed)."""
    return _write(folder, rezip(_good_bytes(folder), {DATA_PART: lambda x: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', x)}))


def many_rows(folder: Path, rows: int = 250_000) -> Path:
    """250,000 rows of the first indicator's code under the size limit: a sheet of 26 MB, far larger than the form."""
    base = _good_bytes(folder)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        head, tail = _sheet_head(z.read(DATA_PART))
    body = lambda i: f'<row r="{i + 12}"><c r="A{i + 12}" t="inlineStr"><is><t>BHXH_BB</t></is></c><c r="E{i + 12}"><v>{i}</v></c></row>'.encode()  # noqa: E731
    return _write(folder, _with_streamed_part(base, DATA_PART, head, body, rows, tail))


def many_short_rows(folder: Path, rows: int = 150_000) -> Path:
    """150,000 short rows with a number each, within the part's size limit: too many rows for the form."""
    base = _good_bytes(folder)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        head, tail = _sheet_head(z.read(DATA_PART))
    body = lambda i: f'<row r="{i + 12}"><c r="E{i + 12}"><v>{i}</v></c></row>'.encode()  # noqa: E731
    return _write(folder, _with_streamed_part(base, DATA_PART, head, body, rows, tail))


def many_empty_cells(folder: Path, rows: int = 60_000) -> Path:
    """1.2 million formatted but empty cells (20 a row): nothing in them, and still far more than the form."""
    base = _good_bytes(folder)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        head, tail = _sheet_head(z.read(DATA_PART))
    cells = b'<c s="0"/>' * 20
    body = lambda i: f'<row r="{i + 12}">'.encode() + cells + b"</row>"  # noqa: E731
    return _write(folder, _with_streamed_part(base, DATA_PART, head, body, rows, tail))


def zip_bomb(folder: Path, size: int = 127 * 1024 * 1024) -> Path:
    """A part of 127 MB of one repeated byte, a few hundred kB packed (a zip bomb) beside a good report."""
    base = _good_bytes(folder)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        zinfo = zipfile.ZipInfo("xl/media/image1.png", date_time=(2019, 11, 1, 0, 0, 0))
        zinfo.compress_type = zipfile.ZIP_DEFLATED
        with zout.open(zinfo, "w", force_zip64=True) as fh:
            block = b"\0" * (1024 * 1024)
            for _ in range(size // len(block)):
                fh.write(block)
    return _write(folder, out.getvalue())


def sheet_bomb(folder: Path, size: int = 120 * 1024 * 1024) -> Path:
    """The data sheet itself, 120 MB of XML (empty rows), packed under the size limit."""
    base = _good_bytes(folder)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        head, tail = _sheet_head(z.read(DATA_PART))
    unit = b"<row/>" * 10_000
    return _write(folder, _with_streamed_part(base, DATA_PART, head, lambda i: unit, size // len(unit), tail))


def many_members(folder: Path, count: int = 5_000) -> Path:
    """5,000 parts (a workbook has a few dozen)."""
    return _write(folder, rezip(_good_bytes(folder), add={f"xl/media/p{i}.bin": b"x" for i in range(count)}))


def excel_like(folder: Path) -> Path:
    """A good report as Excel writes it (shared strings): accepted."""
    return _write(folder, to_shared_strings(_good_bytes(folder)))


def shared_strings_bomb(folder: Path, count: int = 700_000) -> Path:
    """700,000 shared strings, the sheet referring to the last one."""
    base = to_shared_strings(_good_bytes(folder))
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        sst = z.read("xl/sharedStrings.xml")
        sheet = z.read(DATA_PART)
    head = sst[: sst.index(b">", sst.index(b"<sst")) + 1]
    sheet = _insert_cells(sheet, f'<row r="40"><c r="F40" t="s"><v>{count - 1}</v></c></row>')
    data = rezip(base, {DATA_PART: sheet})
    return _write(folder, _with_streamed_part(data, "xl/sharedStrings.xml", head, lambda i: f"<si><t>{i}</t></si>".encode(), count, b"</sst>"))


def shared_strings_far(folder: Path, count: int = 190_000) -> Path:
    """A workbook as Excel writes it with 190,000 more shared strings (under the limit), a note referring to the
    last one: read only as far as needed, accepted."""
    base = to_shared_strings(_good_bytes(folder))
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        sst = z.read("xl/sharedStrings.xml")
        sheet = z.read(DATA_PART)
    known = sst.count(b"<si>")
    head, tail = sst[: sst.rindex(b"</sst>")], b"</sst>"
    sheet = sheet.replace(b"<v>120000</v></c>", f'<v>120000</v></c><c r="F2" t="s"><v>{known + count - 1}</v></c>'.encode(), 1)
    data = rezip(base, {DATA_PART: sheet})
    return _write(folder, _with_streamed_part(data, "xl/sharedStrings.xml", head, lambda i: f"<si><t>ghi chú {i}</t></si>".encode(), count, tail))


def huge_string(folder: Path, size: int = 8 * 1024 * 1024) -> Path:
    """A note of 8 MB of text (Excel holds at most 32,767 characters in a cell), barely compressible: accepted,
    the note cut at 32,767 characters."""
    import base64
    import random

    noise = base64.b64encode(random.Random(7).randbytes(size * 3 // 4))
    note = b'<c r="F2" t="inlineStr"><is><t>' + noise + b"</t></is></c>"
    return _write(folder, rezip(_good_bytes(folder), {DATA_PART: lambda x: x.replace(b"<v>120000</v></c>", b"<v>120000</v></c>" + note, 1)}, level=1))


def entity_bomb(folder: Path) -> Path:
    """The data sheet with a DTD of nested entities ("billion laughs")."""
    dtd = '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) + "]>"

    def edit(xml: bytes) -> bytes:
        body = xml[xml.index(b"<worksheet"):]
        return dtd.encode() + body.replace(b"</sheetData>", b'<row r="40"><c r="F40" t="inlineStr"><is><t>&i;</t></is></c></row></sheetData>')
    return _write(folder, rezip(_good_bytes(folder), {DATA_PART: edit}))


def external_entity(folder: Path) -> Path:
    """The data sheet naming an external entity (/etc/passwd)."""
    def edit(xml: bytes) -> bytes:
        body = xml[xml.index(b"<worksheet"):]
        return (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                + body.replace(b"</sheetData>", b'<row r="40"><c r="F40" t="inlineStr"><is><t>&x;</t></is></c></row></sheetData>'))
    return _write(folder, rezip(_good_bytes(folder), {DATA_PART: edit}))


def deep_cell(folder: Path, depth: int = 200_000) -> Path:
    """One cell of 200,000 rich-text runs."""
    base = _good_bytes(folder)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        head, tail = _sheet_head(z.read(DATA_PART))
    head += b'<row r="40"><c r="F40" t="inlineStr"><is>'
    tail = b"</is></c></row>" + tail
    return _write(folder, _with_streamed_part(base, DATA_PART, head, lambda i: f"<r><t>{i}</t></r>".encode(), depth, tail))


def styles_bomb(folder: Path, count: int = 300_000) -> Path:
    """300,000 cell styles (Excel allows 64,000)."""
    base = _good_bytes(folder)
    head = f'<?xml version="1.0"?><styleSheet xmlns="{NS}"><cellXfs count="{count}">'.encode()
    body = lambda i: f'<xf numFmtId="{i % 50}" fontId="{i % 7}"/>'.encode()  # noqa: E731
    return _write(folder, _with_streamed_part(base, "xl/styles.xml", head, body, count, b"</cellXfs></styleSheet>"))


def merged_bomb(folder: Path, count: int = 50_000) -> Path:
    """50,000 merged ranges below the table."""
    def edit(xml: bytes) -> bytes:
        merges = "".join(f'<mergeCell ref="A{i + 20}:B{i + 20}"/>' for i in range(count))
        return xml.replace(b"</sheetData>", f'</sheetData><mergeCells count="{count}">{merges}</mergeCells>'.encode(), 1)
    return _write(folder, rezip(_good_bytes(folder), {DATA_PART: edit}))


def wide_row(folder: Path) -> Path:
    """A row of cells with data from column AD to XFD (the whole width of a sheet)."""
    cells = "".join(f'<c r="{_letters(i)}40"><v>{i}</v></c>' for i in range(30, 16385))
    return _write(folder, rezip(_good_bytes(folder), {DATA_PART: lambda x: _insert_cells(x, f'<row r="40">{cells}</row>')}))


def oversize(folder: Path) -> Path:
    """A good report padded past the size limit."""
    from bhxh.intake.limits import MAX_FILE_BYTES

    data = _good_bytes(folder)
    return _write(folder, data + b"\0" * (MAX_FILE_BYTES + 1 - len(data)))


def csv_many_lines(folder: Path, lines: int = 3_000_000) -> Path:
    """Three million empty lines (a CSV of 3 MB)."""
    head = good_csv(folder / "base").read_bytes()
    return _write(folder, head + b"\n" * lines, name_of(suffix=".csv"))


def csv_line_breaks(folder: Path, count: int = 2_500_000) -> Path:
    """2.5 million Unicode line separators (U+2028), which Python's splitlines() splits on."""
    head = good_csv(folder / "base").read_bytes()
    return _write(folder, head + ("\u2028" * count).encode(), name_of(suffix=".csv"))


def csv_long_line(folder: Path, size: int = 9 * 1024 * 1024) -> Path:
    """One line of 9 MB."""
    head = good_csv(folder / "base").read_bytes()
    return _write(folder, head + b"BHXH_BB;" + b"9" * size + b"\n", name_of(suffix=".csv"))


def csv_many_fields(folder: Path, fields: int = 50_000) -> Path:
    """Lines of 50,000 fields each."""
    head = good_csv(folder / "base").read_bytes()
    line = ";".join(["1"] * fields).encode() + b"\n"
    return _write(folder, head + line * 100, name_of(suffix=".csv"))


def percent_formatted(folder: Path) -> Path:
    """The coverage rate typed as 90.5% in a percentage-formatted cell (Excel keeps 0.905): accepted, read as 90.5."""
    def edit(wb):
        cell = wb["Chỉ tiêu"]["E6"]  # BHYT_BAO_PHU
        cell.value, cell.number_format = 0.905, "0.0%"
    return good_report(folder, edit=edit)


def percent_on_count(folder: Path) -> Path:
    """A count of people written '12%'."""
    return good_report(folder, values={"BHXH_TN": "12%"})


def percent_format_on_count(folder: Path) -> Path:
    """A count of people in a percentage-formatted cell."""
    def edit(wb):
        cell = wb["Chỉ tiêu"]["E3"]  # BHXH_TN
        cell.value, cell.number_format = 0.12, "0%"
    return good_report(folder, edit=edit)


def csv_percent_on_count(folder: Path) -> Path:
    """A CSV giving a count of people as '12%' and the coverage rate as '90,5%' (fine for a rate)."""
    return good_csv(folder, values={"BHXH_TN": "12%", "BHYT_BAO_PHU": "90,5%"})


def implausible_count(folder: Path) -> Path:
    """More people insured in Yên Bái than live in Việt Nam."""
    return good_report(folder, values={"BHYT": 250_000_000})


def implausible_money(folder: Path) -> Path:
    """A province's revenue larger than the GDP (in triệu đồng)."""
    return good_report(folder, values={"TONG_THU": 9.9e15})


def non_finite(folder: Path) -> Path:
    """Numbers Excel cannot hold: inf, NaN, 1e400 in number cells."""
    def edit(xml: bytes) -> bytes:
        return (xml.replace(b"<v>120000</v>", b"<v>inf</v>", 1).replace(b"<v>8000</v>", b"<v>NaN</v>", 1)
                .replace(b"<v>100000</v>", b"<v>1e400</v>", 1))
    return _write(folder, rezip(_good_bytes(folder), {DATA_PART: edit}))


def huge_integer(folder: Path) -> Path:
    """A number cell of 5,000 digits."""
    return _write(folder, rezip(_good_bytes(folder), {DATA_PART: lambda x: x.replace(b"<v>120000</v>", b"<v>" + b"9" * 5000 + b"</v>", 1)}))


def not_a_reporter(folder: Path) -> Path:
    """A district People's Committee of Đắk Lắk sending the Resolution 51 report of BHXH Việt Nam's units."""
    from bhxh.calendar.units import default_registry

    registry = default_registry()
    day = dt.date(2019, 11, 14)
    unit = next(u.id for u in registry.all() if u.group not in ("provincial", "central") and u.exists_on(day))
    return good_report(folder, unit=unit)


def cycle_not_open(folder: Path) -> Path:
    """The 2021 report sent in November 2019, when 2019's is the open one (received time set by the suite)."""
    return good_report(folder, period="2021")


def obligation_mismatch(folder: Path) -> Path:
    """A Resolution 51 report whose 'Thông tin' names the one-stop report."""
    return good_report(folder, meta={"unit": UNIT, "obligation": "one_stop_2019", "period": PERIOD})


def without_task_sheets(folder: Path) -> Path:
    """A plan-based report without its task sheets."""
    return good_report(folder, tasks=False)


def _letters(col: int) -> str:
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


RESOURCES = [
    Hostile("far_cell", "resources", far_cell, frozenset({"outside_table"})),
    Hostile("far_empty_cell", "resources", far_empty_cell, frozenset()),
    Hostile("false_dimension", "resources", false_dimension, frozenset()),
    Hostile("excel_like", "resources", excel_like, frozenset()),
    Hostile("many_rows", "resources", many_rows, frozenset({"sheet_too_large"}), heavy=True),
    Hostile("many_short_rows", "resources", many_short_rows, frozenset({"too_many_rows"}), heavy=True),
    Hostile("many_empty_cells", "resources", many_empty_cells, frozenset({"too_many_cells"}), heavy=True),
    Hostile("zip_bomb", "resources", zip_bomb, frozenset({"zip_ratio"}), heavy=True),
    Hostile("sheet_bomb", "resources", sheet_bomb, frozenset({"zip_ratio"}), heavy=True),
    Hostile("many_members", "resources", many_members, frozenset({"zip_members"})),
    Hostile("shared_strings_bomb", "resources", shared_strings_bomb, frozenset({"too_many_strings"}), heavy=True),
    Hostile("shared_strings_far", "resources", shared_strings_far, frozenset(), heavy=True),
    Hostile("huge_string", "resources", huge_string, frozenset()),
    Hostile("entity_bomb", "resources", entity_bomb, frozenset({"xml_doctype"})),
    Hostile("external_entity", "resources", external_entity, frozenset({"xml_doctype"})),
    Hostile("deep_cell", "resources", deep_cell, frozenset({"too_many_cells"})),
    Hostile("styles_bomb", "resources", styles_bomb, frozenset({"too_many_styles"})),
    Hostile("merged_bomb", "resources", merged_bomb, frozenset({"too_many_merged"})),
    Hostile("wide_row", "resources", wide_row, frozenset({"outside_table"})),
    Hostile("oversize", "resources", oversize, frozenset({"file_too_large"})),
    Hostile("csv_many_lines", "resources", csv_many_lines, frozenset({"csv_too_many_lines"})),
    Hostile("csv_line_breaks", "resources", csv_line_breaks, frozenset({"csv_too_many_lines"})),
    Hostile("csv_long_line", "resources", csv_long_line, frozenset({"csv_line_too_long"})),
    Hostile("csv_many_fields", "resources", csv_many_fields, frozenset({"csv_too_many_fields"})),
]

MEANING = [
    Hostile("percent_formatted", "meaning", percent_formatted, frozenset()),
    Hostile("percent_on_count", "meaning", percent_on_count, frozenset({"percent_sign"})),
    Hostile("percent_format_on_count", "meaning", percent_format_on_count, frozenset({"percent_sign"})),
    Hostile("csv_percent_on_count", "meaning", csv_percent_on_count, frozenset({"percent_sign"})),
    Hostile("implausible_count", "meaning", implausible_count, frozenset({"implausible"})),
    Hostile("implausible_money", "meaning", implausible_money, frozenset({"implausible"})),
    Hostile("non_finite", "meaning", non_finite, frozenset({"not_a_number"})),
    Hostile("huge_integer", "meaning", huge_integer, frozenset({"not_a_number"})),
    Hostile("not_a_reporter", "meaning", not_a_reporter, frozenset({"not_a_reporter"})),
    Hostile("cycle_not_open", "meaning", cycle_not_open, frozenset({"cycle_not_open"})),
    Hostile("obligation_mismatch", "meaning", obligation_mismatch, frozenset({"filename_mismatch"})),
    Hostile("without_task_sheets", "meaning", without_task_sheets, frozenset({"missing_task_sheet"})),
]

ALL = RESOURCES + MEANING

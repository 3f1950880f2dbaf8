"""The hostile files that attack the intake's resources (bhxh_bench.hostile_files has the good report and the
helpers): far cells, false dimensions, sheets far larger than the form, zip and XML bombs, hundreds of
thousands of shared strings or styles, CSV files of millions of lines. Each edits a workbook's XML parts directly
(a real spreadsheet program would write none of them) and returns the file's path.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from bhxh_bench.hostile_files import (
    DATA_PART,
    NS,
    Hostile,
    good_bytes,
    good_csv,
    insert_cells,
    letters,
    name_of,
    rezip,
    sheet_head,
    to_shared_strings,
    with_streamed_part,
    write,
)


def far_cell(folder: Path) -> Path:
    """A good report with one more cell, far away (XFD1048576): 16,384 columns x a million rows, declared."""
    data = rezip(good_bytes(folder), {DATA_PART: lambda x: insert_cells(x, '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')})
    return write(folder, data)


def far_empty_cell(folder: Path) -> Path:
    """A good report whose sheet declares A1:XFD1048576 and holds one empty, formatted cell there: accepted."""
    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml)
        return insert_cells(xml, '<row r="1048576"><c r="XFD1048576" s="0"/></row>')
    return write(folder, rezip(good_bytes(folder), {DATA_PART: edit}))


def false_dimension(folder: Path) -> Path:
    """A good report whose <dimension> claims the whole grid: accepted (the dimension is never believed)."""
    return write(folder, rezip(good_bytes(folder), {DATA_PART: lambda x: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', x)}))


def many_rows(folder: Path, rows: int = 250_000) -> Path:
    """250,000 rows of the first indicator's code under the size limit: a sheet of 26 MB, far larger than the form."""
    base = good_bytes(folder)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        head, tail = sheet_head(z.read(DATA_PART))
    body = lambda i: f'<row r="{i + 12}"><c r="A{i + 12}" t="inlineStr"><is><t>BHXH_BB</t></is></c><c r="E{i + 12}"><v>{i}</v></c></row>'.encode()  # noqa: E731
    return write(folder, with_streamed_part(base, DATA_PART, head, body, rows, tail))


def many_short_rows(folder: Path, rows: int = 150_000) -> Path:
    """150,000 short rows with a number each, within the part's size limit: too many rows for the form."""
    base = good_bytes(folder)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        head, tail = sheet_head(z.read(DATA_PART))
    body = lambda i: f'<row r="{i + 12}"><c r="E{i + 12}"><v>{i}</v></c></row>'.encode()  # noqa: E731
    return write(folder, with_streamed_part(base, DATA_PART, head, body, rows, tail))


def many_empty_cells(folder: Path, rows: int = 60_000) -> Path:
    """1.2 million formatted but empty cells (20 a row): nothing in them, and still far more than the form."""
    base = good_bytes(folder)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        head, tail = sheet_head(z.read(DATA_PART))
    cells = b'<c s="0"/>' * 20
    body = lambda i: f'<row r="{i + 12}">'.encode() + cells + b"</row>"  # noqa: E731
    return write(folder, with_streamed_part(base, DATA_PART, head, body, rows, tail))


def zip_bomb(folder: Path, size: int = 127 * 1024 * 1024) -> Path:
    """A part of 127 MB of one repeated byte, a few hundred kB packed (a zip bomb) beside a good report."""
    base = good_bytes(folder)
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
    return write(folder, out.getvalue())


def sheet_bomb(folder: Path, size: int = 120 * 1024 * 1024) -> Path:
    """The data sheet itself, 120 MB of XML (empty rows), packed under the size limit."""
    base = good_bytes(folder)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        head, tail = sheet_head(z.read(DATA_PART))
    unit = b"<row/>" * 10_000
    return write(folder, with_streamed_part(base, DATA_PART, head, lambda i: unit, size // len(unit), tail))


def many_members(folder: Path, count: int = 5_000) -> Path:
    """5,000 parts (a workbook has a few dozen)."""
    return write(folder, rezip(good_bytes(folder), add={f"xl/media/p{i}.bin": b"x" for i in range(count)}))


def excel_like(folder: Path) -> Path:
    """A good report as Excel writes it (shared strings): accepted."""
    return write(folder, to_shared_strings(good_bytes(folder)))


def shared_strings_bomb(folder: Path, count: int = 700_000) -> Path:
    """700,000 shared strings, the sheet referring to the last one."""
    base = to_shared_strings(good_bytes(folder))
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        sst = z.read("xl/sharedStrings.xml")
        sheet = z.read(DATA_PART)
    head = sst[: sst.index(b">", sst.index(b"<sst")) + 1]
    sheet = insert_cells(sheet, f'<row r="40"><c r="F40" t="s"><v>{count - 1}</v></c></row>')
    data = rezip(base, {DATA_PART: sheet})
    return write(folder, with_streamed_part(data, "xl/sharedStrings.xml", head, lambda i: f"<si><t>{i}</t></si>".encode(), count, b"</sst>"))


def shared_strings_far(folder: Path, count: int = 190_000) -> Path:
    """A workbook as Excel writes it with 190,000 more shared strings (under the limit), a note referring to the
    last one: read only as far as needed, accepted."""
    base = to_shared_strings(good_bytes(folder))
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        sst = z.read("xl/sharedStrings.xml")
        sheet = z.read(DATA_PART)
    known = sst.count(b"<si>")
    head, tail = sst[: sst.rindex(b"</sst>")], b"</sst>"
    sheet = sheet.replace(b"<v>120000</v></c>", f'<v>120000</v></c><c r="F2" t="s"><v>{known + count - 1}</v></c>'.encode(), 1)
    data = rezip(base, {DATA_PART: sheet})
    return write(folder, with_streamed_part(data, "xl/sharedStrings.xml", head, lambda i: f"<si><t>ghi chú {i}</t></si>".encode(), count, tail))


def huge_string(folder: Path, size: int = 8 * 1024 * 1024) -> Path:
    """A note of 8 MB of text (Excel holds at most 32,767 characters in a cell), barely compressible: accepted,
    the note cut at 32,767 characters."""
    import base64
    import random

    noise = base64.b64encode(random.Random(7).randbytes(size * 3 // 4))
    note = b'<c r="F2" t="inlineStr"><is><t>' + noise + b"</t></is></c>"
    return write(folder, rezip(good_bytes(folder), {DATA_PART: lambda x: x.replace(b"<v>120000</v></c>", b"<v>120000</v></c>" + note, 1)}, level=1))


def entity_bomb(folder: Path) -> Path:
    """The data sheet with a DTD of nested entities ("billion laughs")."""
    dtd = '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) + "]>"

    def edit(xml: bytes) -> bytes:
        body = xml[xml.index(b"<worksheet"):]
        return dtd.encode() + body.replace(b"</sheetData>", b'<row r="40"><c r="F40" t="inlineStr"><is><t>&i;</t></is></c></row></sheetData>')
    return write(folder, rezip(good_bytes(folder), {DATA_PART: edit}))


def external_entity(folder: Path) -> Path:
    """The data sheet naming an external entity (/etc/passwd)."""
    def edit(xml: bytes) -> bytes:
        body = xml[xml.index(b"<worksheet"):]
        return (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                + body.replace(b"</sheetData>", b'<row r="40"><c r="F40" t="inlineStr"><is><t>&x;</t></is></c></row></sheetData>'))
    return write(folder, rezip(good_bytes(folder), {DATA_PART: edit}))


def deep_cell(folder: Path, depth: int = 200_000) -> Path:
    """One cell of 200,000 rich-text runs."""
    base = good_bytes(folder)
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        head, tail = sheet_head(z.read(DATA_PART))
    head += b'<row r="40"><c r="F40" t="inlineStr"><is>'
    tail = b"</is></c></row>" + tail
    return write(folder, with_streamed_part(base, DATA_PART, head, lambda i: f"<r><t>{i}</t></r>".encode(), depth, tail))


def styles_bomb(folder: Path, count: int = 300_000) -> Path:
    """300,000 cell styles (Excel allows 64,000)."""
    base = good_bytes(folder)
    head = f'<?xml version="1.0"?><styleSheet xmlns="{NS}"><cellXfs count="{count}">'.encode()
    body = lambda i: f'<xf numFmtId="{i % 50}" fontId="{i % 7}"/>'.encode()  # noqa: E731
    return write(folder, with_streamed_part(base, "xl/styles.xml", head, body, count, b"</cellXfs></styleSheet>"))


def merged_bomb(folder: Path, count: int = 50_000) -> Path:
    """50,000 merged ranges below the table."""
    def edit(xml: bytes) -> bytes:
        merges = "".join(f'<mergeCell ref="A{i + 20}:B{i + 20}"/>' for i in range(count))
        return xml.replace(b"</sheetData>", f'</sheetData><mergeCells count="{count}">{merges}</mergeCells>'.encode(), 1)
    return write(folder, rezip(good_bytes(folder), {DATA_PART: edit}))


def wide_row(folder: Path) -> Path:
    """A row of cells with data from column AD to XFD (the whole width of a sheet)."""
    cells = "".join(f'<c r="{letters(i)}40"><v>{i}</v></c>' for i in range(30, 16385))
    return write(folder, rezip(good_bytes(folder), {DATA_PART: lambda x: insert_cells(x, f'<row r="40">{cells}</row>')}))


def oversize(folder: Path) -> Path:
    """A good report padded past the size limit."""
    from bhxh.intake.limits import MAX_FILE_BYTES

    data = good_bytes(folder)
    return write(folder, data + b"\0" * (MAX_FILE_BYTES + 1 - len(data)))


def csv_many_lines(folder: Path, lines: int = 3_000_000) -> Path:
    """Three million empty lines (a CSV of 3 MB)."""
    head = good_csv(folder / "base").read_bytes()
    return write(folder, head + b"\n" * lines, name_of(suffix=".csv"))


def csv_line_breaks(folder: Path, count: int = 2_500_000) -> Path:
    """2.5 million Unicode line separators (U+2028), which Python's splitlines() splits on."""
    head = good_csv(folder / "base").read_bytes()
    return write(folder, head + ("\u2028" * count).encode(), name_of(suffix=".csv"))


def csv_long_line(folder: Path, size: int = 9 * 1024 * 1024) -> Path:
    """One line of 9 MB."""
    head = good_csv(folder / "base").read_bytes()
    return write(folder, head + b"BHXH_BB;" + b"9" * size + b"\n", name_of(suffix=".csv"))


def csv_many_fields(folder: Path, fields: int = 50_000) -> Path:
    """Lines of 50,000 fields each."""
    head = good_csv(folder / "base").read_bytes()
    line = ";".join(["1"] * fields).encode() + b"\n"
    return write(folder, head + line * 100, name_of(suffix=".csv"))


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

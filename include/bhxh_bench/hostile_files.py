"""The files of the hostile-input suite (tests/intake/test_hostile.py) and of its benchmark (hostile.py): a good
2019 Resolution 51 report of BHXH tỉnh Yên Bái, the helpers that rewrite a workbook's XML parts, and the files
whose meaning is hostile (a count as a percentage, a figure larger than the country, a unit or a cycle that
does not fit); the files that attack the intake's resources are in hostile_resources.py.

Every builder writes into a folder and returns the path.
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
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _data_part() -> str:
    """The zip part of the form's sheet ("Chỉ tiêu") in a workbook written by write_report_xlsx, found through the
    workbook's own relationships: the template decides the sheet order (its instructions come first)."""
    import tempfile

    from bhxh.calendar.forms import get_form
    from bhxh.intake.forms_xlsx import form_rows, write_report_xlsx

    form = get_form("nq51_indicators")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probe.xlsx"
        write_report_xlsx(path, form, {"unit": UNIT, "obligation": OB, "period": PERIOD}, form_rows(form, VALUES))
        with zipfile.ZipFile(path) as z:
            workbook, rels = z.read("xl/workbook.xml").decode(), z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(form.sheet)}"[^>]*r:id="([^"]+)"', workbook)[1]
    target = re.search(rf'<Relationship [^>]*Target="([^"]+)" Id="{rid}"|<Relationship [^>]*Id="{rid}" [^>]*Target="([^"]+)"', rels)
    return (target[1] or target[2]).lstrip("/")


DATA_PART = _data_part()


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


def insert_cells(xml: bytes, cells: str, *, at_end: bool = True) -> bytes:
    """Rows/cells added inside <sheetData> (at its end)."""
    return xml.replace(b"</sheetData>", cells.encode() + b"</sheetData>") if at_end else xml


def with_streamed_part(source: bytes, name: str, head: bytes, body: Callable[[int], bytes], count: int, tail: bytes) -> bytes:
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


def sheet_head(xml: bytes) -> tuple[bytes, bytes]:
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


def good_bytes(folder: Path, **kwargs) -> bytes:
    return good_report(folder / "good_base", **kwargs).read_bytes()


def write(folder: Path, data: bytes, name: str | None = None) -> Path:
    path = folder / (name or name_of())
    path.write_bytes(data)
    return path


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
    return write(folder, rezip(good_bytes(folder), {DATA_PART: edit}))


def huge_integer(folder: Path) -> Path:
    """A number cell of 5,000 digits."""
    return write(folder, rezip(good_bytes(folder), {DATA_PART: lambda x: x.replace(b"<v>120000</v>", b"<v>" + b"9" * 5000 + b"</v>", 1)}))


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


def letters(col: int) -> str:
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


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


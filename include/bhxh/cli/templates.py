"""Blank submission templates (`make templates`):

    python -m bhxh.cli.templates [--out DIR]      (default: out/templates)

For each obligation of the catalogue, writes <obligation>.xlsx (sheet 'Thông tin' with the metadata labels and
the report code filled in, the form's sheet with Vietnamese headers and one pre-filled row per indicator:
code, name, unit of measure; and the instructions sheet 'Hướng dẫn') and <obligation>.csv, the same in CSV
(UTF-8 with BOM, ';'-separated, metadata as '# label: value' lines). Prints the paths written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bhxh import PROJECT_ROOT
from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.forms import get_form
from bhxh.calendar.obligations import Obligation
from bhxh.intake.forms_xlsx import INSTRUCTIONS_SHEET, form_rows, write_report_csv, write_report_xlsx
from bhxh.intake.reading import MAX_FILE_BYTES

ROOT = PROJECT_ROOT
DEFAULT_OUT = ROOT / "out" / "templates"
PERIOD_EXAMPLE = {"yearly": "2026", "half-yearly": "2026-H1", "quarterly": "2026-Q1", "monthly": "2026-01", "once": None}


def _period_hint(ob: Obligation) -> str:
    if ob.recurrence == "once":
        return str(ob.first_cycle or (ob.deadline.date.year if ob.deadline.date else ""))
    return PERIOD_EXAMPLE.get(ob.recurrence) or "2026"


def _extra_instructions(ob: Obligation) -> list[str]:
    return [
        "",
        f"Báo cáo: {ob.title_vi} (mã báo cáo '{ob.id}').",
        f"Căn cứ: {ob.legal_basis.document} ngày {ob.legal_basis.date:%d/%m/%Y}, {ob.legal_basis.part}.",
        f"Trích văn bản: {ob.legal_basis.wording}",
        f"Kỳ báo cáo ghi dạng {_period_hint(ob)}; tên tệp: {ob.id}__{_period_hint(ob)}__<mã đơn vị>.xlsx (hoặc .csv).",
        f"Dung lượng tối đa {MAX_FILE_BYTES // 1024 // 1024} MB; chỉ nhận .xlsx (không đặt mật khẩu) hoặc .csv (UTF-8).",
        f"Report '{ob.id}': {ob.title_en}. Period like {_period_hint(ob)}; file name {ob.id}__<period>__<unit id>.xlsx; "
        f"at most {MAX_FILE_BYTES // 1024 // 1024} MB; .xlsx without a password, or UTF-8 .csv.",
    ]


def write_templates(out: Path, catalogue: Catalogue | None = None) -> list[Path]:
    from openpyxl import load_workbook

    catalogue = catalogue or default_catalogue()
    written: list[Path] = []
    for ob in catalogue:
        form = get_form(ob.schema_name)
        meta = {"obligation": ob.id, "period": "", "unit": ""}
        rows = form_rows(form)
        xlsx = write_report_xlsx(out / f"{ob.id}.xlsx", form, meta, rows)
        wb = load_workbook(xlsx)
        help_ws = wb[INSTRUCTIONS_SHEET]
        for line in _extra_instructions(ob):
            help_ws.append([line])
        wb.save(xlsx)
        csv = write_report_csv(out / f"{ob.id}.csv", form, meta, rows, encoding="utf-8-sig")
        written += [xlsx, csv]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bhxh.cli.templates", description="Mẫu báo cáo trống / Blank report templates")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    for path in write_templates(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

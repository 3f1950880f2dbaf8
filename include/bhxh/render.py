"""Rendering ("soạn văn bản"): every text a person reads comes from a Jinja template in templates/.

Templates run in a sandboxed environment; HTML templates autoescape, so text from a submission can never
inject markup or template code. Spreadsheets never turn submitted text into formulas.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

TEMPLATES_DIR = Path(os.environ.get("BHXH_TEMPLATES_DIR") or Path(__file__).resolve().parents[2] / "templates")


def date_vi(value: dt.date | dt.datetime | None, fmt: str = "%d/%m/%Y") -> str:
    """Dates as Vietnamese documents write them: 05/12/2025 (leading zeros)."""
    if value is None:
        return ""
    return value.strftime(fmt)


def number_vi(value: float | int | None, digits: int = 0) -> str:
    """1234567.5 -> '1.234.567,5' (Vietnamese separators)."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")


def percent_vi(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{number_vi(value, digits)}%"


@lru_cache(maxsize=4)
def environment(templates_dir: str = str(TEMPLATES_DIR)) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["date_vi"] = date_vi
    env.filters["number_vi"] = number_vi
    env.filters["percent_vi"] = percent_vi
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def safe_cell(value):
    """A value for a spreadsheet cell that can never become a live formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_xlsx(path: Path, sheets: dict[str, tuple[list[str], list[list]]]) -> Path:
    """Write sheets of (header, rows); every text cell is stored as text, never as a formula.

    Streams the rows (openpyxl's write-only mode): a consolidated report is written in about half the time and
    memory of a workbook held cell by cell.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold, wrap = Font(bold=True, name="Times New Roman"), Alignment(wrap_text=True, vertical="center")
    for name, (header, rows) in sheets.items():
        ws = wb.create_sheet(name[:31])
        for index, _ in enumerate(header, start=1):
            ws.column_dimensions[get_column_letter(index)].width = 18 if index > 1 else 34
        head = []
        for value in header:
            cell = WriteOnlyCell(ws, value=safe_cell(value))
            cell.font, cell.alignment = bold, wrap
            head.append(cell)
        ws.append(head)
        for row in rows:
            # Plain values: openpyxl stores a str as text unless it starts with "=", which safe_cell has quoted.
            # (A cell object per value would cost twice as much: openpyxl reuses one cell for plain values.)
            ws.append([safe_cell(v) if isinstance(v, str) else v for v in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path

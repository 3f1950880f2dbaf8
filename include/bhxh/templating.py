"""Every text a person reads comes from a Jinja template in templates/: the sandboxed environment and the
Vietnamese formats (dates, numbers, percentages).

Templates run in a sandboxed environment; HTML templates autoescape, so text from a submission can never
inject markup or template code.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from bhxh import PROJECT_ROOT

TEMPLATES_DIR = Path(os.environ.get("BHXH_TEMPLATES_DIR") or PROJECT_ROOT / "templates")


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

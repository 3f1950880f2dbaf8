"""Report forms ("biểu mẫu báo cáo"): the schema of each report type, loaded from data/schemas/*.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bhxh.errors import DataFileError
from bhxh.yamlio import load_yaml

SCHEMA_DIR = Path(__file__).parent / "data" / "schemas"


KINDS = {"count", "money", "percent"}
# The keys each entry of a form may have: a key outside these is a typing error, most often an unquoted name with
# a comma in a YAML flow mapping ({name: Tổng số thu BHXH, BHYT, BHTN} reads as the name "Tổng số thu BHXH"
# and two empty keys), so the loader refuses it rather than show a truncated name.
KEYS = {
    "columns": {"key", "header", "type", "required"},
    "indicators": {"code", "name", "measure", "kind", "required_for", "targets"},
    "rules": {"code", "left", "right", "message_vi", "message_en"},
    "sum_rules": {"code", "left", "right", "message_vi", "message_en"},
}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    type: str  # str | number
    required: bool


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    measure: str
    kind: str
    required_for: tuple[str, ...]
    targets: tuple[tuple[int, float], ...] = ()  # (year, target value) from the plan or resolution

    def target_for(self, year: int) -> tuple[int, float] | None:
        """The nearest target at or after `year` (the milestone the unit is heading for)."""
        later = [t for t in self.targets if t[0] >= year]
        return min(later) if later else None


@dataclass(frozen=True)
class PairRule:
    code: str
    left: str
    right: str
    message_vi: str
    message_en: str


@dataclass(frozen=True)
class SumRule:
    code: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    message_vi: str
    message_en: str


@dataclass(frozen=True)
class ReportForm:
    id: str
    title_vi: str
    sheet: str
    columns: tuple[Column, ...]
    indicators: tuple[Indicator, ...]
    rules: tuple[PairRule, ...]
    sum_rules: tuple[SumRule, ...] = ()

    def header_of(self, key: str) -> str:
        return next(c.header for c in self.columns if c.key == key)

    @property
    def indicator_codes(self) -> list[str]:
        return [i.code for i in self.indicators]


def load_form(form_id: str, folder: Path = SCHEMA_DIR) -> ReportForm:
    path = folder / f"{form_id}.yaml"
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
        for part, allowed in KEYS.items():
            for entry in raw.get(part) or []:
                if unknown := sorted(map(str, set(entry) - allowed)):
                    raise DataFileError(
                        f"Biểu mẫu '{form_id}' ({path}): khóa lạ {unknown} trong {part} (tên có dấu phẩy cần đặt trong ngoặc kép)",
                        f"Report form '{form_id}' ({path}): unknown keys {unknown} in {part} (quote a name with a comma)",
                        code="form_file",
                    )
        form = ReportForm(
            id=raw["id"],
            title_vi=raw["title_vi"],
            sheet=raw["sheet"],
            columns=tuple(Column(c["key"], c["header"], c["type"], bool(c["required"])) for c in raw["columns"]),
            indicators=tuple(
                Indicator(
                    i["code"], i["name"], i["measure"], i["kind"], tuple(i.get("required_for", ())),
                    tuple(sorted((int(y), float(v)) for y, v in (i.get("targets") or {}).items())),
                )
                for i in raw.get("indicators", [])
            ),
            rules=tuple(PairRule(**r) for r in raw.get("rules", [])),
            sum_rules=tuple(
                SumRule(r["code"], tuple(r["left"]), tuple(r["right"]), r["message_vi"], r["message_en"])
                for r in raw.get("sum_rules", [])
            ),
        )
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise DataFileError(
            f"Biểu mẫu '{form_id}' ({path}) không đọc được hoặc thiếu trường: {exc}",
            f"Report form '{form_id}' ({path}) is unreadable or lacks a field: {exc}",
            code="form_file",
        ) from exc
    bad = [i.code for i in form.indicators if i.kind not in KINDS]
    if bad:
        raise DataFileError(
            f"Biểu mẫu '{form_id}': loại chỉ tiêu không hợp lệ ở {bad}",
            f"Report form '{form_id}': invalid indicator kind for {bad}",
            code="form_file",
        )
    return form


@lru_cache(maxsize=32)
def get_form(form_id: str) -> ReportForm:
    return load_form(form_id)


META_SHEET = "Thông tin"
META_LABELS = {"Mã đơn vị": "unit", "Mã báo cáo": "obligation", "Kỳ báo cáo": "period"}
FILENAME_RE = re.compile(r"^(?P<obligation>[a-z0-9_]+)__(?P<period>\d{4}(?:-[QH]\d)?)__(?P<unit>[a-z0-9_]+)\.(xlsx|csv)$")


def file_name(obligation_id: str, period: str, unit_id: str, suffix: str = ".xlsx") -> str:
    """The file name convention: <mã báo cáo>__<kỳ>__<mã đơn vị>.xlsx"""
    return f"{obligation_id}__{period}__{unit_id}{suffix}"

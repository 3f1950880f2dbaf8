"""Plausibility ceilings of reported figures ("giới hạn hợp lý"), from data/plausibility.yaml: a count cannot
exceed the population, an amount the national GDP (each figure with its source, in the data file).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bhxh.errors import DataFileError
from bhxh.yamlio import load_yaml

DATA_FILE = Path(__file__).parent / "data" / "plausibility.yaml"


@dataclass(frozen=True)
class Ceiling:
    """The largest value an indicator can plausibly take, in the indicator's own unit of measure."""

    value: float
    basis_vi: str
    basis_en: str


@lru_cache(maxsize=1)
def _data() -> dict:
    try:
        raw = load_yaml(DATA_FILE.read_text(encoding="utf-8"))
        for item in raw["ceilings"].values():
            float(item["value"]), item["basis_vi"], item["basis_en"], item["source"]
        return raw
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise DataFileError(
            f"Tệp giới hạn hợp lý ({DATA_FILE}) không đọc được hoặc thiếu trường: {exc}",
            f"The plausibility file ({DATA_FILE}) is unreadable or lacks a field: {exc}",
            code="plausibility_file",
        ) from exc


@lru_cache(maxsize=256)
def ceiling_for(kind: str, measure: str) -> Ceiling | None:
    """The ceiling of an indicator of this kind and unit of measure; None when it has none (percentages are
    0-100, which validation checks itself) or when an amount's unit of measure is not one the data knows."""
    data = _data()
    name = data.get("kinds", {}).get(kind)
    if name is None:
        return None
    item = data["ceilings"][name]
    value = float(item["value"])
    if kind == "money":
        per_unit = data.get("money_measures", {}).get(measure.strip().lower())
        if not per_unit:
            return None
        value /= float(per_unit)
    return Ceiling(value, item["basis_vi"], item["basis_en"])

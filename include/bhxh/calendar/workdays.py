"""Working days in Vietnam ("ngày làm việc"): the `holidays` package plus operator overrides kept as data.

The government announces each year's swapped days late, so `data/workdays.yaml` can add holidays or working
days the package does not know yet (or remove ones it got wrong) without touching code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import holidays
import yaml

from bhxh.errors import DataFileError
from bhxh.yamlio import load_yaml

DATA_FILE = Path(__file__).parent / "data" / "workdays.yaml"


@dataclass(frozen=True)
class WorkdayCalendar:
    """Answers "is this a working day?" for Vietnam, with overrides applied first."""

    extra_holidays: dict[dt.date, str] = field(default_factory=dict)
    extra_working_days: frozenset[dt.date] = frozenset()

    def _vn(self, year: int) -> holidays.HolidayBase:
        return _vn_holidays(year)

    def holiday_name(self, day: dt.date) -> str | None:
        if day in self.extra_holidays:
            return self.extra_holidays[day]
        return self._vn(day.year).get(day)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_holidays:
            return False
        return self._vn(day.year).is_working_day(day)

    def next_working_day_on_or_after(self, day: dt.date) -> dt.date:
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (n > 0) or before it (n < 0); `day` itself is not counted."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        while remaining:
            day += dt.timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day


@lru_cache(maxsize=64)
def _vn_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


def load_workdays(path: Path = DATA_FILE) -> WorkdayCalendar:
    try:
        raw = load_yaml(path.read_text(encoding="utf-8")) or {}
        extra_h = {dt.date.fromisoformat(str(k)): str(v) for k, v in (raw.get("extra_holidays") or {}).items()}
        extra_w = frozenset(dt.date.fromisoformat(str(d)) for d in (raw.get("extra_working_days") or []))
    except (OSError, ValueError, yaml.YAMLError, AttributeError) as exc:
        raise DataFileError(
            f"Tệp ngày làm việc {path} không hợp lệ: {exc}",
            f"Working-day file {path} is invalid: {exc}",
            code="workdays_file",
        ) from exc
    clash = set(extra_h) & extra_w
    if clash:
        days = ", ".join(sorted(d.isoformat() for d in clash))
        raise DataFileError(
            f"Tệp {path}: ngày {days} vừa là ngày nghỉ vừa là ngày làm việc",
            f"File {path}: {days} is both a holiday and a working day",
            code="workdays_clash",
        )
    return WorkdayCalendar(extra_h, extra_w)


@lru_cache(maxsize=1)
def default_workdays() -> WorkdayCalendar:
    return load_workdays()

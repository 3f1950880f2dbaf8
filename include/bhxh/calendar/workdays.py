"""Working days in Vietnam ("ngày làm việc"): the `holidays` package plus operator overrides kept as data.

The government announces each year's swapped days late, so `data/workdays.yaml` can add holidays or working
days the package does not know yet (or remove ones it got wrong) without touching code. Days off the package
knows whose legal basis is not confirmed (`pending_holidays`, e.g. 24/11 from 2026) are applied, and a date that
depends on one can be found by comparing with `without_pending()`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import holidays
import yaml

from bhxh.errors import DataFileError
from bhxh.yamlio import load_yaml

DATA_FILE = Path(__file__).parent / "data" / "workdays.yaml"


@dataclass(frozen=True)
class PendingHoliday:
    """A yearly day off taken from the package whose legal basis is not confirmed (from `from_year` on)."""

    month: int
    day: int
    from_year: int
    name: str
    note: str

    def on(self, day: dt.date) -> bool:
        return day.year >= self.from_year and (day.month, day.day) == (self.month, self.day)


@dataclass(frozen=True)
class WorkdayCalendar:
    """Answers "is this a working day?" for Vietnam, with overrides applied first."""

    extra_holidays: dict[dt.date, str] = field(default_factory=dict)
    extra_working_days: frozenset[dt.date] = frozenset()
    pending: tuple[PendingHoliday, ...] = ()
    pending_as_working: bool = False  # the other reading: every pending day is a working day

    def pending_on(self, day: dt.date) -> PendingHoliday | None:
        """The pending day off on `day`, unless an override already decided that day."""
        if day in self.extra_working_days or day in self.extra_holidays:
            return None
        return next((p for p in self.pending if p.on(day)), None)

    def without_pending(self) -> WorkdayCalendar:
        """The same calendar with every pending day off read as a working day."""
        return replace(self, pending_as_working=True)

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
        if self.pending_as_working and self.pending_on(day) and day.weekday() < 5:
            return True
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
        pending = tuple(
            PendingHoliday(int(p["month"]), int(p["day"]), int(p["from_year"]), str(p["name"]), " ".join(str(p["note"]).split()))
            for p in (raw.get("pending_holidays") or [])
        )
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError, AttributeError) as exc:
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
    return WorkdayCalendar(extra_h, extra_w, pending)


@lru_cache(maxsize=1)
def default_workdays() -> WorkdayCalendar:
    return load_workdays()

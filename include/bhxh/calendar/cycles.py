"""Cycles ("kỳ báo cáo") and their deadlines: the reporting period (data cut-off, Nghị định 09/2019/NĐ-CP
Điều 12), the nominal due date as the legal text says, the last allowed day, the effective last day moved to
the next working day, and `due_at` ("hạn nộp"): the instant in Asia/Ho_Chi_Minh after which a submission
is late.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from bhxh.calendar.obligations import MONTHS_PER_CYCLE, Obligation, PeriodEnd, parse_cycle_key
from bhxh.calendar.workdays import WorkdayCalendar, default_workdays
from bhxh.errors import CalendarError

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _last_day_of_month(year: int, month: int) -> dt.date:
    return dt.date(year, month, _cal.monthrange(year, month)[1])


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _safe_date(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, _cal.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Cycle:
    """One cycle ("kỳ báo cáo") of an obligation, with its period and deadlines."""

    obligation_id: str
    key: str
    period_start: dt.date
    period_end: dt.date
    nominal_due: dt.date  # the date as the text states it ("trước ngày 15/11" -> 15/11)
    last_allowed_day: dt.date  # as the text means it ("trước ngày 15/11" -> 14/11)
    effective_last_day: dt.date  # moved to the next working day when needed
    due_at: dt.datetime  # 00:00 Asia/Ho_Chi_Minh of the day after effective_last_day
    moved_because: str | None  # why the deadline moved ("Chủ nhật", "Tết Nguyên Đán", ...)

    @property
    def cycle_id(self) -> str:
        return f"{self.obligation_id}/{self.key}"

    @property
    def interval_start(self) -> dt.datetime:
        return dt.datetime.combine(self.period_start, dt.time(), TZ)

    @property
    def interval_end(self) -> dt.datetime:
        return dt.datetime.combine(self.period_end + dt.timedelta(days=1), dt.time(), TZ)

    def is_late(self, received_at: dt.datetime) -> bool:
        return received_at >= self.due_at

    def deadline_text_vi(self) -> str:
        text = f"hạn theo văn bản {self.nominal_due:%d/%m/%Y}, hạn thực tế hết ngày {self.effective_last_day:%d/%m/%Y}"
        if self.moved_because:
            text += f" (lùi do {self.moved_because})"
        return text


WEEKDAY_VI = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


@lru_cache(maxsize=64)
def _vn_holidays_vi(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year, language="vi")


def holiday_name_vi(workdays: WorkdayCalendar, day: dt.date) -> str | None:
    """The Vietnamese name of the public holiday on `day` ("Tết Nguyên Đán", "Ngày nghỉ (thay cho ...)"), if any.

    The operator overrides come first; the `holidays` package answers in English by default, so its
    Vietnamese localisation is asked for, falling back to the working-day calendar's own name.
    """
    if day in workdays.extra_holidays:
        return workdays.extra_holidays[day]
    return _vn_holidays_vi(day.year).get(day) or workdays.holiday_name(day)


def moved_reason_vi(workdays: WorkdayCalendar, day: dt.date) -> str:
    """Why `day` is not a working day: the holiday's Vietnamese name, else the weekday ("Thứ Bảy", "Chủ nhật")."""
    return holiday_name_vi(workdays, day) or WEEKDAY_VI[day.weekday()]


def build_cycle(ob: Obligation, key: str, workdays: WorkdayCalendar | None = None) -> Cycle:
    """The cycle `key` of obligation `ob` with its deadlines computed."""
    workdays = workdays or default_workdays()
    dl, pr = ob.deadline, ob.period
    if ob.recurrence == "once":
        assert dl.date is not None and pr.start is not None and isinstance(pr.end, dt.date)
        if key != str(dl.date.year):
            raise CalendarError(
                f"Nghĩa vụ {ob.id} chỉ có một kỳ ({dl.date.year})",
                f"Obligation {ob.id} has a single cycle ({dl.date.year})",
                code="cycle_key",
            )
        nominal, period_start, period_end = dl.date, pr.start, pr.end
    else:
        year, part = parse_cycle_key(key, ob.recurrence)
        assert dl.month is not None and pr.months is not None and isinstance(pr.end, PeriodEnd)
        if ob.recurrence == "yearly":
            d_year, d_month = year + dl.year_offset, dl.month
            e_year, e_month = year + pr.end.year_offset, pr.end.month
        else:
            last_month = part * MONTHS_PER_CYCLE[ob.recurrence]
            d_year, d_month = _shift_month(year, last_month, dl.month)
            e_year, e_month = _shift_month(year, last_month, pr.end.month)
        nominal = (
            _last_day_of_month(d_year, d_month) if dl.rule == "during_month" else _safe_date(d_year, d_month, dl.day or 1)
        )
        period_end = _safe_date(e_year, e_month, pr.end.day)
        s_year, s_month = _shift_month(e_year, e_month, -pr.months)
        period_start = _safe_date(s_year, s_month, pr.end.day) + dt.timedelta(days=1)
    last_allowed = nominal - dt.timedelta(days=1) if dl.rule == "before" else nominal
    effective = workdays.next_working_day_on_or_after(last_allowed)
    moved = None
    if effective != last_allowed:
        moved = moved_reason_vi(workdays, last_allowed)
    due_at = dt.datetime.combine(effective + dt.timedelta(days=1), dt.time(), TZ)
    return Cycle(ob.id, key, period_start, period_end, nominal, last_allowed, effective, due_at, moved)

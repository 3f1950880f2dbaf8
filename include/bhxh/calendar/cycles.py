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
    period_end: dt.date  # the last day of data (after the Điều 8 khoản 5 rule, see build_cycle)
    nominal_due: dt.date  # the date as the text states it ("trước ngày 15/11" -> 15/11)
    last_allowed_day: dt.date  # as the text means it ("trước ngày 15/11" -> 14/11)
    effective_last_day: dt.date  # moved to the next working day when needed
    due_at: dt.datetime  # 00:00 Asia/Ho_Chi_Minh of the day after effective_last_day
    # Why the deadline moved later, naming the day it moved from ("Chủ nhật 14/11/2027", "Tết Nguyên Đán, Thứ
    # Tư 29/01/2025"): a weekday is only ever written beside its own date. None when it did not move later.
    moved_because: str | None
    # The day it moved from, with its weekday and holiday ("Chủ nhật 14/11/2027", "Thứ Tư 29/01/2025 (Tết Nguyên
    # Đán)"), for "lùi từ ..."; None when it did not move later.
    moved_from: str | None = None
    # The end of the period as Điều 12 NĐ 09/2019 (or the catalogue) gives it, when the Điều 8 khoản 5 rule
    # moved the cut-off earlier; None when it did not.
    period_end_nominal: dt.date | None = None
    # "vào tháng M" / "tháng M hằng năm" whose last day is not a working day: the other reading's last day
    # (the last working day inside the month, or the next working day); None when both readings agree.
    other_reading_day: dt.date | None = None
    month_end_reading: str | None = None  # the reading applied (catalogue `during_month_reading`)

    @property
    def cycle_id(self) -> str:
        return f"{self.obligation_id}/{self.key}"

    @property
    def interval_start(self) -> dt.datetime:
        return dt.datetime.combine(self.period_start, dt.time(), TZ)

    @property
    def interval_end(self) -> dt.datetime:
        return dt.datetime.combine(self.period_end + dt.timedelta(days=1), dt.time(), TZ)

    @property
    def moved(self) -> bool:
        return self.effective_last_day != self.last_allowed_day

    def is_late(self, received_at: dt.datetime) -> bool:
        return received_at >= self.due_at

    def deadline_text_vi(self) -> str:
        from bhxh.templating import render

        return render("calendar/deadline.txt.j2", cycle=self).strip()


WEEKDAY_VI = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


def weekday_vi(day: dt.date) -> str:
    return WEEKDAY_VI[day.weekday()]


def dated_vi(day: dt.date | None) -> str:
    """A day with its own weekday, "Thứ Hai 15/11/2027": the only way the calendar writes a weekday."""
    return f"{weekday_vi(day)} {day:%d/%m/%Y}" if day else ""


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
    """Why `day` is not a working day, with the day itself: "Chủ nhật 14/11/2027", or the holiday's Vietnamese
    name and the day ("Tết Nguyên Đán, Thứ Tư 29/01/2025"). Never a weekday without its own date, so a text
    that prints it beside the moved deadline cannot be read as that deadline's weekday."""
    dated = f"{weekday_vi(day)} {day:%d/%m/%Y}"
    name = holiday_name_vi(workdays, day)
    return f"{name}, {dated}" if name else dated


def dieu8_cut_off(end: dt.date, effective_last_day: dt.date, workdays: WorkdayCalendar) -> dt.date:
    """The last day of data under Nghị định 09/2019/NĐ-CP Điều 8 khoản 5, read strictly (catalogue.yaml, header):
    at least one working day lies strictly after the last day of data and strictly before the effective last day.
    `end` is kept when it leaves one; otherwise the cut-off moves back to the day before the last working day
    that precedes the effective last day."""
    working_day_between = workdays.add_working_days(effective_last_day, -1)
    return min(end, working_day_between - dt.timedelta(days=1))


def _deadline_days(ob: Obligation, year: int, part: int, workdays: WorkdayCalendar) -> tuple[dt.date, dt.date, dt.date, dt.date | None]:
    """(nominal due, last allowed day, effective last day, the other reading's day) of cycle (year, part)."""
    dl = ob.deadline
    if ob.recurrence == "once":
        assert dl.date is not None
        nominal = dl.date
    else:
        assert dl.month is not None
        if ob.recurrence == "yearly":
            d_year, d_month = year + dl.year_offset, dl.month
        else:
            d_year, d_month = _shift_month(year, part * MONTHS_PER_CYCLE[ob.recurrence], dl.month)
        nominal = (
            _last_day_of_month(d_year, d_month) if dl.rule == "during_month" else _safe_date(d_year, d_month, dl.day or 1)
        )
    last_allowed = nominal - dt.timedelta(days=1) if dl.rule == "before" else nominal
    forward = workdays.next_working_day_on_or_after(last_allowed)
    if dl.rule != "during_month" or forward == last_allowed:
        return nominal, last_allowed, forward, None
    within = last_allowed
    while not workdays.is_working_day(within):
        within -= dt.timedelta(days=1)
    if ob.during_month_reading == "last_working_day_of_month":
        return nominal, last_allowed, within, forward
    return nominal, last_allowed, forward, within


def _nominal_end(ob: Obligation, year: int, part: int) -> dt.date:
    pr = ob.period
    assert isinstance(pr.end, PeriodEnd)
    if ob.recurrence == "yearly":
        e_year, e_month = year + pr.end.year_offset, pr.end.month
    else:
        e_year, e_month = _shift_month(year, part * MONTHS_PER_CYCLE[ob.recurrence], pr.end.month)
    return _safe_date(e_year, e_month, pr.end.day)


def _previous(ob: Obligation, year: int, part: int) -> tuple[int, int]:
    if ob.recurrence == "yearly" or part == 1:
        return year - 1, (1 if ob.recurrence == "yearly" else 12 // MONTHS_PER_CYCLE[ob.recurrence])
    return year, part - 1


def build_cycle(ob: Obligation, key: str, workdays: WorkdayCalendar | None = None) -> Cycle:
    """The cycle `key` of obligation `ob` with its deadlines computed.

    The period is the catalogue's (Điều 12 NĐ 09/2019 or the written interpretation); its last day then follows
    the Điều 8 khoản 5 rule (`dieu8_cut_off`), and the next cycle starts the day after, so periods stay
    contiguous.
    """
    workdays = workdays or default_workdays()
    pr = ob.period
    if ob.recurrence == "once":
        assert ob.deadline.date is not None and pr.start is not None and isinstance(pr.end, dt.date)
        if key != str(ob.deadline.date.year):
            raise CalendarError(
                f"Nghĩa vụ {ob.id} chỉ có một kỳ ({ob.deadline.date.year})",
                f"Obligation {ob.id} has a single cycle ({ob.deadline.date.year})",
                code="cycle_key",
            )
        year, part = ob.deadline.date.year, 1
        nominal, last_allowed, effective, other = _deadline_days(ob, year, part, workdays)
        period_start, end = pr.start, pr.end
    else:
        year, part = parse_cycle_key(key, ob.recurrence)
        nominal, last_allowed, effective, other = _deadline_days(ob, year, part, workdays)
        end = _nominal_end(ob, year, part)
        p_year, p_part = _previous(ob, year, part)
        p_effective = _deadline_days(ob, p_year, p_part, workdays)[2]
        period_start = dieu8_cut_off(_nominal_end(ob, p_year, p_part), p_effective, workdays) + dt.timedelta(days=1)
    period_end = dieu8_cut_off(end, effective, workdays)
    moved = moved_reason_vi(workdays, last_allowed) if effective > last_allowed else None
    moved_from = None
    if moved:
        holiday = holiday_name_vi(workdays, last_allowed)
        moved_from = f"{dated_vi(last_allowed)} ({holiday})" if holiday else dated_vi(last_allowed)
    due_at = dt.datetime.combine(effective + dt.timedelta(days=1), dt.time(), TZ)
    return Cycle(
        ob.id, key, period_start, period_end, nominal, last_allowed, effective, due_at, moved, moved_from,
        period_end_nominal=end if period_end != end else None,
        other_reading_day=other,
        month_end_reading=ob.during_month_reading if ob.deadline.rule == "during_month" else None,
    )  # fmt: skip


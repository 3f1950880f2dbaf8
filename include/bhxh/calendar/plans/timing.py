"""Reading the completion-time wording of a plan task ("Quý II/2019", "Hằng năm", "Tháng 11 hằng năm", ...).

`parse_timing(text)` returns a `Timing` (due date, start date, recurrence, due month) or None when the wording
is not one of the forms below; the importer then lists the task in review.yaml for a person to settle.

| wording                              | due          | starts      | recurrence  | due_month |
|--------------------------------------|--------------|-------------|-------------|-----------|
| Quý I..IV/YYYY                        | quarter end  |             |             |           |
| Năm YYYY                             | 31/12/YYYY   |             |             |           |
| Tháng M/YYYY                         | month end    |             |             |           |
| Giai đoạn YYYY-YYYY                   | 31/12 of end |             |             |           |
| kể từ ngày DD/MM/YYYY                |              | that day    |             |           |
| Hằng năm                             |              |             | yearly      |           |
| Tháng M hằng năm                     |              |             | yearly      | M         |
| Hằng năm (định kỳ 6 tháng/lần)       |              |             | half-yearly |           |
| Hằng quý                             |              |             | quarterly   |           |
| Thường xuyên                         |              |             | continuous  |           |

"kể từ ngày 01/10/2019" says from when a change applies ("Thí điểm ... kể từ ngày 01/10/2019"), not by when
something is due: it is a start date, and the task has no due date.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from bhxh.calendar.plans.text import base

RECURRENCES = (None, "yearly", "half-yearly", "quarterly", "continuous")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


@dataclass(frozen=True)
class Timing:
    due: dt.date | None = None
    starts: dt.date | None = None
    recurrence: str | None = None
    due_month: int | None = None


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _norm(text: str) -> str:
    """Accent-free, lower-case, single-spaced ("Hằng năm" -> "hang nam"; "hàng năm" reads the same)."""
    return re.sub(r"\s+", " ", base(text)).strip()


def parse_timing(text: str | None) -> Timing | None:
    """The due date / recurrence the wording states, or None if it is not a known form."""
    if text is None or not text.strip():
        return None
    t = _norm(text)
    if m := re.fullmatch(r"quy (i|ii|iii|iv) ?/ ?(\d{4})", t):
        quarter, year = _ROMAN[m.group(1)], int(m.group(2))
        return Timing(due=_month_end(year, quarter * 3))
    if m := re.fullmatch(r"nam (\d{4})", t):
        return Timing(due=dt.date(int(m.group(1)), 12, 31))
    if m := re.fullmatch(r"thang (\d{1,2}) ?/ ?(\d{4})", t):
        month = int(m.group(1))
        if 1 <= month <= 12:
            return Timing(due=_month_end(int(m.group(2)), month))
        return None
    if m := re.fullmatch(r"giai doan (\d{4}) ?- ?(\d{4})", t):
        return Timing(due=dt.date(int(m.group(2)), 12, 31))
    if m := re.fullmatch(r"(?:ke )?tu ngay (\d{1,2})/(\d{1,2})/(\d{4})", t):
        try:
            return Timing(starts=dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))))
        except ValueError:
            return None
    if t in ("hang nam", "hang nam."):
        return Timing(recurrence="yearly")
    if m := re.fullmatch(r"thang (\d{1,2}) hang nam", t):
        month = int(m.group(1))
        return Timing(recurrence="yearly", due_month=month) if 1 <= month <= 12 else None
    if re.fullmatch(r"hang nam \(dinh ky 6 thang ?/ ?lan\)", t) or t in ("6 thang", "dinh ky 6 thang"):
        return Timing(recurrence="half-yearly")
    if t in ("hang quy", "dinh ky hang quy"):
        return Timing(recurrence="quarterly")
    if t == "thuong xuyen":
        return Timing(recurrence="continuous")
    return None

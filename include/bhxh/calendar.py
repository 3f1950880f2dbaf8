"""The reporting calendar ("lịch báo cáo"): obligations from the catalogue, their cycles, periods and deadlines.

An obligation ("nghĩa vụ báo cáo") recurs yearly, half-yearly, quarterly or once. Each cycle ("kỳ báo cáo") has
a reporting period (data cut-off, Nghị định 09/2019/NĐ-CP Điều 12), a nominal due date as the legal text says,
and `due_at` ("hạn nộp"): the instant in Asia/Ho_Chi_Minh after which a submission is late.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bhxh.errors import CalendarError, DataFileError
from bhxh.workdays import WorkdayCalendar, default_workdays
from bhxh.yamlio import load_yaml

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOGUE_FILE = Path(__file__).parent / "data" / "catalogue.yaml"
# The horizon the calendar reasons about when an obligation has no last cycle.
DEFAULT_HORIZON_YEAR = 2030

Recurrence = Literal["yearly", "half-yearly", "quarterly", "once"]
MONTHS_PER_CYCLE = {"yearly": 12, "half-yearly": 6, "quarterly": 3}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalBasis(_Strict):
    document: str
    date: dt.date
    part: str
    wording: str


class Reporters(_Strict):
    groups: tuple[str, ...] = ()
    units: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Reporters:
        if not self.groups and not self.units:
            raise ValueError("reporters needs at least one group or unit")
        return self


class Deadline(_Strict):
    """How the legal text states the deadline."""

    rule: Literal["before", "no_later_than", "during_month"]
    month: int | None = None
    day: int | None = None
    year_offset: int = 0
    date: dt.date | None = None  # one-off obligations


class PeriodEnd(_Strict):
    month: int
    day: int
    year_offset: int = 0


class PeriodRule(_Strict):
    months: int | None = None
    end: PeriodEnd | dt.date
    start: dt.date | None = None  # one-off obligations
    interpretation: str | None = None


class Reminders(_Strict):
    call_working_days_before: int = 20
    before_working_days: tuple[int, ...] = (7, 3, 1)
    after_working_days: tuple[int, ...] = (1, 3)


class Approval(_Strict):
    by: str
    wording: str


class Obligation(_Strict):
    """One legal reporting obligation ("nghĩa vụ báo cáo") of the catalogue."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title_vi: str
    title_en: str
    legal_basis: LegalBasis
    reporters: Reporters
    recipient: str
    also_to: tuple[str, ...] = ()
    department: str
    recurrence: Recurrence
    cycle_label: Literal["period", "plan_year"] = "period"
    deadline: Deadline
    period: PeriodRule
    first_cycle: str | int | None = None
    last_cycle: str | int | None = None
    reminders: Reminders = Reminders()
    approval: Approval | None = None
    template: str
    schema_name: str = Field(alias="schema")
    feeds: str | None = None
    plan: str | None = None  # the plan (bhxh.plans) a plan-based report reports on
    from_plan_task: str | None = None  # the plan task this obligation is derived from (see resolve_plan_task)

    @model_validator(mode="after")
    def _consistent(self) -> Obligation:
        if self.recurrence == "once":
            if self.deadline.date is None or self.period.start is None or not isinstance(self.period.end, dt.date):
                raise ValueError("a one-off obligation needs deadline.date, period.start and period.end as dates")
        else:
            if self.first_cycle is None:
                raise ValueError("a recurring obligation needs first_cycle")
            if self.deadline.rule != "during_month" and self.deadline.day is None:
                raise ValueError("deadline.day is required unless the rule is during_month")
            if self.deadline.month is None or self.period.months is None or isinstance(self.period.end, dt.date):
                raise ValueError("a recurring obligation needs deadline.month, period.months and period.end {month, day}")
        return self

    # -- cycles -----------------------------------------------------------------------------------------
    def cycle_keys(self, until_year: int | None = None) -> list[str]:
        """Every cycle key from the first to the last (or the horizon), in order."""
        if self.recurrence == "once":
            return [str(self.deadline.date.year)]  # type: ignore[union-attr]
        first = parse_cycle_key(str(self.first_cycle), self.recurrence)
        last_year = until_year or DEFAULT_HORIZON_YEAR
        last = (
            parse_cycle_key(str(self.last_cycle), self.recurrence)
            if self.last_cycle is not None
            else (last_year, _parts(self.recurrence))
        )
        keys = []
        year, part = first
        while (year, part) <= last:
            keys.append(format_cycle_key(year, part, self.recurrence))
            part += 1
            if part > _parts(self.recurrence):
                year, part = year + 1, 1
        return keys


def _parts(recurrence: str) -> int:
    return {"yearly": 1, "half-yearly": 2, "quarterly": 4}[recurrence]


_KEY = re.compile(r"^(\d{4})(?:-(Q|H)(\d))?$")


def parse_cycle_key(key: str, recurrence: str) -> tuple[int, int]:
    match = _KEY.match(str(key))
    if not match:
        raise CalendarError(
            f"Mã kỳ báo cáo '{key}' không hợp lệ (ví dụ: 2019, 2019-H1, 2019-Q3)",
            f"Invalid cycle key '{key}' (e.g. 2019, 2019-H1, 2019-Q3)",
            code="cycle_key",
        )
    year, letter, num = int(match[1]), match[2], int(match[3] or 1)
    expected = {"yearly": None, "once": None, "half-yearly": "H", "quarterly": "Q"}[recurrence]
    out_of_range = recurrence != "once" and not 1 <= num <= _parts(recurrence)
    if letter != expected or out_of_range:
        raise CalendarError(
            f"Mã kỳ '{key}' không khớp chu kỳ {recurrence}",
            f"Cycle key '{key}' does not match recurrence {recurrence}",
            code="cycle_key",
        )
    return year, num


def format_cycle_key(year: int, part: int, recurrence: str) -> str:
    if recurrence in ("yearly", "once"):
        return str(year)
    return f"{year}-{'H' if recurrence == 'half-yearly' else 'Q'}{part}"


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


class Catalogue:
    """Every obligation, loaded from the catalogue file and validated."""

    def __init__(self, obligations: list[Obligation], source: Path | None = None) -> None:
        self.obligations = {ob.id: ob for ob in obligations}
        self.source = source

    @classmethod
    def load(cls, path: Path = CATALOGUE_FILE) -> Catalogue:
        try:
            raw = load_yaml(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise DataFileError(
                f"Không đọc được danh mục nghĩa vụ báo cáo {path}: {exc}",
                f"Cannot read the obligation catalogue {path}: {exc}",
                code="catalogue_file",
            ) from exc
        items = (raw or {}).get("obligations") if isinstance(raw, dict) else None
        if not isinstance(items, list):
            raise DataFileError(
                f"{path}: thiếu danh sách 'obligations'", f"{path}: the 'obligations' list is missing", code="catalogue_file"
            )
        obligations, seen = [], set()
        for index, item in enumerate(items):
            ident = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"
            if isinstance(item, dict):
                item = resolve_plan_task(item, path)
            try:
                ob = Obligation.model_validate(item)
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise DataFileError(
                    f"{path}: nghĩa vụ '{ident}' không hợp lệ: {problems}",
                    f"{path}: obligation '{ident}' is invalid: {problems}",
                    code="catalogue_entry",
                ) from exc
            if ob.id in seen:
                raise DataFileError(
                    f"{path}: mã nghĩa vụ '{ob.id}' bị trùng", f"{path}: duplicate obligation id '{ob.id}'", code="catalogue_entry"
                )
            seen.add(ob.id)
            obligations.append(ob)
        from bhxh.plans import PLAN_IDS

        for ob in obligations:
            if ob.plan and ob.plan not in PLAN_IDS:
                raise DataFileError(
                    f"{path}: '{ob.id}' dẫn chiếu kế hoạch '{ob.plan}' không có trong dữ liệu kế hoạch",
                    f"{path}: '{ob.id}' names unknown plan '{ob.plan}'",
                    code="catalogue_entry",
                )
            if ob.feeds and ob.feeds not in seen:
                raise DataFileError(
                    f"{path}: '{ob.id}' chuyển số liệu cho '{ob.feeds}' nhưng nghĩa vụ này không có trong danh mục",
                    f"{path}: '{ob.id}' feeds unknown obligation '{ob.feeds}'",
                    code="catalogue_entry",
                )
        return cls(obligations, path)

    def get(self, obligation_id: str) -> Obligation:
        try:
            return self.obligations[obligation_id]
        except KeyError:
            raise CalendarError(
                f"Không có nghĩa vụ báo cáo '{obligation_id}' trong danh mục",
                f"No obligation '{obligation_id}' in the catalogue",
                code="unknown_obligation",
            ) from None

    def __iter__(self) -> Iterator[Obligation]:
        return iter(self.obligations.values())

    def cycles(self, obligation_id: str, until_year: int | None = None) -> list[Cycle]:
        ob = self.get(obligation_id)
        return [build_cycle(ob, key) for key in ob.cycle_keys(until_year)]

    def cycle(self, obligation_id: str, key: str) -> Cycle:
        return build_cycle(self.get(obligation_id), key)

    def cycles_due_in(self, year: int) -> list[Cycle]:
        """Every cycle whose nominal due date falls in `year`, ordered by due date."""
        found = [c for ob in self for c in self.cycles(ob.id, until_year=year + 1) if c.nominal_due.year == year]
        return sorted(found, key=lambda c: (c.nominal_due, c.obligation_id))


PLAN_TASK_FIELDS = ("legal_basis", "reporters", "department", "recurrence", "deadline")


def resolve_plan_task(item: dict, path: Path | None = None) -> dict:
    """A catalogue entry with `from_plan_task` completed from the plan's task data (bhxh.plans): the timed
    report is typed once, in the plan; the entry must not type the fields it takes from there."""
    ref = item.get("from_plan_task")
    if not ref:
        return item
    from bhxh.plans import find_task, obligation_fields

    typed = [k for k in PLAN_TASK_FIELDS if k in item]
    if typed:
        raise DataFileError(
            f"{path}: '{item.get('id')}' lấy từ nhiệm vụ {ref} của kế hoạch nhưng lại ghi {typed}; hãy xóa các trường này",
            f"{path}: '{item.get('id')}' comes from plan task {ref} but also types {typed}; remove them",
            code="catalogue_entry",
        )
    plan, task = find_task(str(ref), item.get("plan"))
    return {**item, "plan": plan.id, **obligation_fields(plan, task)}


def dag_id_for(obligation_id: str) -> str:
    """The Airflow DAG that runs an obligation's cycles (built by dags/common/factory.py)."""
    return f"bao_cao_{obligation_id}"


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return Catalogue.load()


def cycle_for_interval(catalogue: Catalogue, obligation_id: str, start: dt.datetime) -> Cycle:
    """The cycle whose reporting period starts at `start` (a run's data interval start)."""
    day = start.astimezone(TZ).date()
    ob = catalogue.get(obligation_id)
    for key in ob.cycle_keys(until_year=day.year + 2):
        cycle = build_cycle(ob, key)
        if cycle.period_start == day:
            return cycle
    raise CalendarError(
        f"Không có kỳ báo cáo nào của '{obligation_id}' bắt đầu ngày {day:%d/%m/%Y}",
        f"No cycle of '{obligation_id}' starts on {day:%d/%m/%Y}",
        code="no_cycle",
    )


def fed_cycle(catalogue: Catalogue, obligation_id: str, key: str) -> Cycle | None:
    """The cycle of the obligation that `obligation_id` feeds which takes in cycle `key`: the first one whose
    deadline is not before the feeding cycle's (15/12 feeds 25/12 of the same plan year; 30/11 feeds December)."""
    ob = catalogue.get(obligation_id)
    if not ob.feeds:
        return None
    source = catalogue.cycle(obligation_id, key)
    for cycle in catalogue.cycles(ob.feeds, until_year=source.nominal_due.year + 1):
        if cycle.effective_last_day >= source.effective_last_day:
            return cycle
    return None


def feeders_of(catalogue: Catalogue, obligation_id: str) -> list[Obligation]:
    """The obligations whose consolidated unit data feed `obligation_id`."""
    return [ob for ob in catalogue if ob.feeds == obligation_id]

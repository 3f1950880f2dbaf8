"""The reporting calendar of one year, for people: JSON lines or an iCalendar file.

    python -m bhxh.cli.calendar --year 2025                 # one JSON object per line on stdout
    python -m bhxh.cli.calendar --year 2025 --format ics    # out/calendar/calendar-2025.ics
    python -m bhxh.cli.calendar --year 2025 --out -         # JSON lines (or ICS) to stdout / a file

Every cycle whose nominal due date ("hạn theo văn bản") falls in the year is listed with both deadlines, the
legal wording it comes from, the recipient resolved on the deadline (following successors) and the units
expected to report on that day. The ICS file has one all-day event per cycle on the effective last day, with
the catalogue's reminders as alarms (working days converted to the actual days before the deadline).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import Cycle
from bhxh.calendar.obligations import Obligation
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.calendar.workdays import WorkdayCalendar, default_workdays
from bhxh.errors import BhxhError

PRODID = "-//Bao hiem xa hoi Viet Nam//Lich bao cao BHXH//VI"
RULE_VI = {"before": "trước ngày", "no_later_than": "chậm nhất là ngày", "during_month": "trong tháng"}
RECURRENCE_VI = {"yearly": "hằng năm", "half-yearly": "6 tháng", "quarterly": "hằng quý", "once": "một lần"}
ALARM_HOUR = 8  # reminders pop up at 08:00 on the working day they fall on


def reminder_days(ob: Obligation, cycle: Cycle, workdays: WorkdayCalendar | None = None) -> list[tuple[int, dt.date]]:
    """(n, day) for each `reminders.before_working_days` n: the n-th working day before the effective last day."""
    workdays = workdays or default_workdays()
    days = sorted(set(ob.reminders.before_working_days), reverse=True)
    return [(n, workdays.add_working_days(cycle.effective_last_day, -n)) for n in days]


def cycle_record(
    ob: Obligation, cycle: Cycle, registry: UnitRegistry | None = None, catalogue: Catalogue | None = None
) -> dict:
    """One cycle as a JSON-ready dict (dates ISO 8601; `due_at` with its +07:00 offset)."""
    from bhxh.calendar.expected import plan_cycle

    plan = plan_cycle(ob.id, cycle.key, catalogue=catalogue, registry=registry)
    lb = ob.legal_basis
    return {
        "obligation": ob.id,
        "cycle": cycle.key,
        "cycle_id": cycle.cycle_id,
        "title_vi": ob.title_vi,
        "title_en": ob.title_en,
        "recurrence": ob.recurrence,
        "period_start": cycle.period_start.isoformat(),
        "period_end": cycle.period_end.isoformat(),
        "period_interpretation": ob.period.interpretation,
        "deadline_rule": ob.deadline.rule,
        "nominal_due": cycle.nominal_due.isoformat(),
        "last_allowed_day": cycle.last_allowed_day.isoformat(),
        "effective_last_day": cycle.effective_last_day.isoformat(),
        "due_at": cycle.due_at.isoformat(),
        "moved_because": cycle.moved_because,
        "deadline_text_vi": cycle.deadline_text_vi(),
        "legal_document": lb.document,
        "legal_date": lb.date.isoformat(),
        "legal_part": lb.part,
        "legal_wording": lb.wording,
        "recipient": plan.recipient.id if plan.recipient else None,
        "recipient_name": plan.recipient.name if plan.recipient else None,
        "also_to": list(ob.also_to),
        "flags": plan.flags,
        "units": [u.id for u in plan.units],
        "unit_count": len(plan.units),
        "reminders": [{"working_days_before": n, "date": d.isoformat()} for n, d in reminder_days(ob, cycle)],
        "feeds": ob.feeds,
    }


def year_records(year: int, catalogue: Catalogue | None = None, registry: UnitRegistry | None = None) -> list[dict]:
    """Every cycle whose nominal due date falls in `year`, ordered by nominal due date."""
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
    return [
        cycle_record(catalogue.get(c.obligation_id), c, registry, catalogue) for c in catalogue.cycles_due_in(year)
    ]


def to_jsonl(records: Iterable[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _d(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _vn_date(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


def to_ics(records: Iterable[dict], year: int, dtstamp: dt.datetime | None = None) -> bytes:
    """An iCalendar (RFC 5545) file: one all-day VEVENT per cycle on its effective last day, with alarms."""
    from icalendar import Alarm, Calendar, Event

    dtstamp = (dtstamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Lịch báo cáo BHXH {year}")
    cal.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    for r in records:
        effective, nominal = _d(r["effective_last_day"]), _d(r["nominal_due"])
        moved = f" (lùi do {r['moved_because']})" if r["moved_because"] else ""
        summary = f"Hạn nộp {r['title_vi']} ({r['legal_document']}) - kỳ {r['cycle']}"
        description = "\n".join(
            line
            for line in (
                f"Căn cứ: {r['legal_document']} ngày {_vn_date(_d(r['legal_date']))}, {r['legal_part']}.",
                f"Văn bản quy định: \"{r['legal_wording']}\"",
                f"Hạn theo văn bản: {RULE_VI[r['deadline_rule']]} {_vn_date(nominal)}.",
                f"Hạn thực tế: hết ngày {_vn_date(effective)}{moved}; nộp từ {r['due_at']} là trễ hạn.",
                f"Kỳ số liệu: {_vn_date(_d(r['period_start']))} - {_vn_date(_d(r['period_end']))}.",
                f"Nơi nhận: {r['recipient_name'] or r['recipient'] or 'CHƯA XÁC ĐỊNH'}.",
                f"Số đơn vị phải báo cáo: {r['unit_count']}.",
                *(f"CẢNH BÁO: {flag}" for flag in r["flags"]),
                f"Nominal deadline {nominal.isoformat()}, effective last day {effective.isoformat()} ({r['title_en']}).",
            )
        )
        event = Event()
        event.add("uid", f"{r['obligation']}/{r['cycle']}@bhxh")
        event.add("dtstamp", dtstamp)
        event.add("summary", summary)
        event.add("description", description)
        event.add("dtstart", effective)
        event.add("dtend", effective + dt.timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        event.add("categories", ["BHXH", r["obligation"]])
        event.add("x-microsoft-cdo-alldayevent", "TRUE")
        for reminder in r["reminders"]:
            n, day = reminder["working_days_before"], _d(reminder["date"])
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"Còn {n} ngày làm việc đến hạn: {summary} (hết ngày {_vn_date(effective)})")
            # Relative to the all-day event's start (00:00 of the effective last day): 08:00 of the reminder day.
            alarm.add("trigger", -(dt.timedelta(days=(effective - day).days) - dt.timedelta(hours=ALARM_HOUR)))
            alarm.add("x-bhxh-working-days-before", str(n))
            event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bhxh.cli.calendar",
        description="Lịch báo cáo một năm (JSON lines hoặc iCalendar) / The reporting calendar of one year.",
    )
    parser.add_argument("--year", type=int, default=dt.date.today().year, help="năm của hạn theo văn bản / year")
    parser.add_argument("--format", choices=("jsonl", "ics"), default="jsonl")
    parser.add_argument(
        "--out", help="tệp ghi ra ('-' = stdout); mặc định: stdout cho jsonl, out/calendar/calendar-<năm>.ics cho ics"
    )
    args = parser.parse_args(argv)
    try:
        records = year_records(args.year)
    except BhxhError as exc:
        print(f"LỖI / ERROR: {exc}", file=sys.stderr)
        return 2
    if args.format == "jsonl":
        text = to_jsonl(records)
        if not args.out or args.out == "-":
            sys.stdout.write(text)
            return 0
        data = text.encode("utf-8")
    else:
        data = to_ics(records, args.year)
        if args.out == "-":
            sys.stdout.buffer.write(data)
            return 0
    out = Path(args.out) if args.out else Path("out") / "calendar" / f"calendar-{args.year}.ics"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"Đã ghi {len(records)} kỳ báo cáo vào {out} / wrote {len(records)} cycles to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

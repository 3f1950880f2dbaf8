"""The reporting calendar of one year, for people: JSON lines or an iCalendar file.

    python -m bhxh.cli.calendar --year 2025                 # one JSON object per line on stdout
    python -m bhxh.cli.calendar --year 2025 --format ics    # out/calendar/calendar-2025.ics
    python -m bhxh.cli.calendar --year 2025 --out -         # JSON lines (or ICS) to stdout / a file
    python -m bhxh.cli.calendar --notes                     # the duties read in the seeds that are not scheduled

Every cycle whose nominal due date ("hạn theo văn bản") falls in the year is listed with both deadlines, the
legal wording it comes from, the recipient resolved on the deadline (following successors; a recipient that
ceased without a successor by its last known name, flagged) and the units expected to report on that day; and
what a reader should know about its dates (`remarks`): the day a deadline moved from, the other reading of "vào
tháng M", a cut-off moved by Điều 8 khoản 5, a date that depends on a day off still pending (24/11 from 2026).
The ICS file has one all-day event per cycle on the effective last day, with the catalogue's reminders as alarms
(working days converted to the actual days before the deadline). `--notes` lists, one JSON object per line, the
on-request and untimed duties the catalogue keeps in its `notes`, with their words and why they are not cycles.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import Cycle, dated_vi
from bhxh.calendar.obligations import Obligation
from bhxh.calendar.remarks import cycle_remarks
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.calendar.workdays import WorkdayCalendar, default_workdays
from bhxh.errors import BhxhError
from bhxh.templating import render

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
    from bhxh.calendar.expected import cooperating_name, last_known_name, plan_cycle

    registry = registry or default_registry()
    plan = plan_cycle(ob.id, cycle.key, catalogue=catalogue, registry=registry)
    ob = plan.obligation  # as it stands for this cycle (a later row of its plan, for instance)
    lb = ob.legal_basis
    day = cycle.effective_last_day
    return {
        "obligation": ob.id,
        "cycle": cycle.key,
        "cycle_id": cycle.cycle_id,
        "title_vi": ob.title_vi,
        "title_en": ob.title_en,
        "recurrence": ob.recurrence,
        "period_start": cycle.period_start.isoformat(),
        "period_end": cycle.period_end.isoformat(),
        "period_end_nominal": cycle.period_end_nominal.isoformat() if cycle.period_end_nominal else None,
        "period_interpretation": ob.period.interpretation,
        "deadline_rule": ob.deadline.rule,
        "deadline_wording": ob.deadline.wording,
        "deadline_interpretation": ob.deadline.interpretation,
        "cycles_interpretation": ob.cycles_interpretation,
        "nominal_due": cycle.nominal_due.isoformat(),
        "last_allowed_day": cycle.last_allowed_day.isoformat(),
        "effective_last_day": day.isoformat(),
        "effective_last_day_vi": dated_vi(day),
        "due_at": cycle.due_at.isoformat(),
        "moved_because": cycle.moved_because,
        "month_end_reading": cycle.month_end_reading,
        "other_reading_day": cycle.other_reading_day.isoformat() if cycle.other_reading_day else None,
        "deadline_text_vi": cycle.deadline_text_vi(),
        "remarks": cycle_remarks(ob, cycle),
        "legal_document": lb.document,
        "legal_date": lb.date.isoformat(),
        "legal_part": lb.part,
        "legal_wording": lb.wording,
        "legal_context": lb.context,
        "recipient": plan.recipient.id if plan.recipient else None,
        "recipient_name": plan.recipient_name,
        "recipient_ceased": plan.recipient is None,
        "also_to": list(ob.also_to),
        "also_to_names": [cooperating_name(u, day, registry) for u in ob.also_to],
        "department_name": last_known_name(registry.get(ob.department), day) if ob.department in registry else None,
        "cooperating": plan.cooperating,
        "approval": ob.approval.wording if ob.approval else None,
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


def note_records(catalogue: Catalogue | None = None) -> list[dict]:
    """The catalogue's notes: duties read in the seeds that are not calendar entries, with their words."""
    catalogue = catalogue or default_catalogue()
    return [{"note": n.id, **n.model_dump(exclude={"id"})} for n in catalogue.notes]


def to_jsonl(records: Iterable[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _d(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def to_ics(records: Iterable[dict], year: int, dtstamp: dt.datetime | None = None) -> bytes:
    """An iCalendar (RFC 5545) file: one all-day VEVENT per cycle on its effective last day, with alarms."""
    from icalendar import Alarm, Calendar, Event

    dtstamp = (dtstamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", " ".join(render("calendar/ics_name.txt.j2", year=year).split()))
    cal.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    for r in records:
        effective = _d(r["effective_last_day"])
        ctx = {"r": r, "d": _d, "rule_vi": RULE_VI}
        summary = " ".join(render("calendar/ics_summary.txt.j2", **ctx).split())
        description = render("calendar/ics_description.txt.j2", **ctx).strip()
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
            alarm.add("description", " ".join(render("calendar/ics_alarm.txt.j2", n=n, summary=summary, r=r).split()))
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
        "--notes", action="store_true",
        help="in ra các nghĩa vụ không lên lịch (theo yêu cầu, không có thời hạn) / the duties that are not cycles",
    )
    parser.add_argument(
        "--out", help="tệp ghi ra ('-' = stdout); mặc định: stdout cho jsonl, out/calendar/calendar-<năm>.ics cho ics"
    )
    args = parser.parse_args(argv)
    try:
        if args.notes:
            sys.stdout.write(to_jsonl(note_records()))
            return 0
        records = year_records(args.year)
        notes = len(default_catalogue().notes)
    except BhxhError as exc:
        print(f"LỖI / ERROR: {exc}", file=sys.stderr)
        return 2
    print(render("calendar/notes_line.txt.j2", count=notes).strip(), file=sys.stderr)
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

"""What the DAG files read when they are parsed: the obligations, their DAG ids, feeders, first period and docs.

Parse time only (no store, no connection): the dag-processor parses these files often.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from bhxh.calendar.catalogue import dag_id_for, default_catalogue, feeders_of
from bhxh.calendar.cycles import dated_vi
from bhxh.calendar.expected import cooperating_name, last_known_name
from bhxh.calendar.obligations import Obligation
from bhxh.calendar.remarks import cycle_remarks
from bhxh.calendar.units import GROUP_VI, default_registry
from bhxh.templating import render

__all__ = ["dag_id_for", "doc_md", "feeders", "first_interval_start", "obligations", "recipient_name"]


def obligations() -> Iterator[Obligation]:
    return iter(default_catalogue())


def feeders(obligation_id: str) -> list[Obligation]:
    """The obligations whose consolidated data feed `obligation_id`."""
    return feeders_of(default_catalogue(), obligation_id)


def first_interval_start(obligation_id: str) -> dt.datetime:
    """The start of the first cycle's reporting period: the DAG's start date."""
    return default_catalogue().cycles(obligation_id)[0].interval_start


def recipient_name(ob: Obligation, day: dt.date | None = None) -> str:
    """Who receives the obligation's reports, by name on `day` (default today): its successor if it ceased, else
    its last known name; never its code (for texts such as the approval request)."""
    registry, day = default_registry(), day or dt.date.today()
    unit = registry.successor_on(ob.recipient, day)
    return unit.name_on(day) if unit else last_known_name(registry.get(ob.recipient), day)


def doc_md(ob: Obligation, today: dt.date | None = None) -> str:
    """The DAG's documentation in the UI (templates/dags/obligation_doc.md.j2): title, legal basis with its
    wording (and the later rows of its plan), who reports and receives by name, the interpretations, the next
    cycles with each effective deadline beside its own weekday and what to know about it (the day it moved from,
    the other reading of "vào tháng M", a cut-off moved by Điều 8 khoản 5, a date that hangs on a pending day
    off). `today` (default: today) chooses the cycles shown."""
    catalogue, registry = default_catalogue(), default_registry()
    today = today or dt.date.today()
    cycles = [c for c in catalogue.cycles(ob.id) if c.due_at.date() >= today][:3]
    if not cycles:
        cycles = catalogue.cycles(ob.id)[-1:]  # an obligation whose cycles are over (a one-off) shows its last one
    day = cycles[0].effective_last_day if cycles else today
    rows = [{"cycle": c, "remarks": cycle_remarks(ob, c)} for c in cycles]
    ceased = registry.successor_on(ob.recipient, day) is None
    return render(
        "dags/obligation_doc.md.j2",
        ob=ob,
        variants=ob.variants,
        reporters=[GROUP_VI.get(g, g) for g in ob.reporters.groups]
        + [last_known_name(registry.get(u), day) for u in ob.reporters.units],
        recipient=recipient_name(ob, day),
        recipient_ceased=ceased,
        also_to=[cooperating_name(u, day, registry) for u in ob.also_to],
        cooperating=[cooperating_name(u, day, registry) for u in ob.cooperating],
        rows=rows,
        dated=dated_vi,
    )

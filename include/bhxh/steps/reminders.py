"""The reminder DAG's step ("nhắc hạn báo cáo"): put the messages owed on a day into the outbox."""

from __future__ import annotations

import datetime as dt
import logging

from bhxh.calendar.catalogue import default_catalogue
from bhxh.calendar.cycles import TZ
from bhxh.calendar.units import default_registry
from bhxh.intake.links import PortalConfigError, UnitLinks, portal_settings
from bhxh.notify.outbox import enqueue
from bhxh.notify.reminders import messages_due
from bhxh.store.engine import init_store, session_factory


def enqueue_reminders(when: dt.datetime, store_url: str, include_past: bool) -> tuple[dict, str]:
    """The messages owed on the day of `when` (Asia/Ho_Chi_Minh), queued once: (the summary, its log line)."""
    day = when.astimezone(TZ).date()
    url = init_store(store_url)
    with session_factory(url)() as session, session.begin():
        messages = messages_due(day, catalogue=default_catalogue(), registry=default_registry(), session=session,
                                include_past=include_past, links=unit_links(session))
        queued = enqueue(session, messages)
    line = f"Ngày {day:%d/%m/%Y}: {len(messages)} tin đến hạn, {queued} tin mới vào hộp thư đi"
    return {"day": day.isoformat(), "due": len(messages), "queued": queued}, line


def unit_links(session) -> UnitLinks | None:
    """Each unit's portal link for its calls and reminders; none (and a warning) if the portal is misconfigured."""
    try:
        return UnitLinks(session, portal_settings())
    except PortalConfigError as exc:
        logging.getLogger(__name__).warning("no portal links in the reminders: %s", exc.message_en)
        return None

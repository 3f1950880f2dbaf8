"""One reporting cycle's steps, as the cycle DAG calls them: expected units, validation of each unit's latest
submission, consolidation and rendering, completeness, the messages that go out, the approval request.

Steps exchange small references (unit ids, paths); the store is the source of truth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bhxh.calendar.catalogue import Catalogue, cycle_for_interval, default_catalogue, fed_cycle
from bhxh.calendar.expected import CyclePlan, plan_cycle
from bhxh.calendar.units import UnitRegistry
from bhxh.notify.channels import apprise_sender
from bhxh.notify.outbox import deliver_pending, enqueue
from bhxh.reports.comparison import compare
from bhxh.reports.consolidation import completeness, consolidate, local_time
from bhxh.reports.documents import render_reports
from bhxh.steps.messages import approval_messages, cycle_messages, problems_text
from bhxh.store.engine import init_store, session_factory, utcnow
from bhxh.store.models import StoredFile, Submission, ValidationResult


# -- validation of one unit -----------------------------------------------------------------------------
@dataclass
class UnitOutcome:
    unit_id: str
    state: str
    submission_id: int | None
    errors: list[dict]
    received_at: str | None = None


def validate_unit(
    session: Session,
    plan: CyclePlan,
    unit_id: str,
    catalogue: Catalogue | None = None,
    registry: UnitRegistry | None = None,
    *,
    revalidate: bool = False,
) -> UnitOutcome:
    """Decide the unit's state for the cycle from its submissions and record it in the store (idempotent).

    The latest valid version counts: on time if it came before due_at, late otherwise. With no valid
    version, the latest one's errors make the unit invalid; with none at all it is missing.

    Intake already checked each file against this very cycle (form, period, unit on the deadline, tasks), so
    its verdict is used as it stands; `revalidate` reads every stored file again, for when the rules (a form
    or the unit registry) changed after the files came in.
    """
    ob, cycle = plan.obligation, plan.cycle
    subs = list(
        session.scalars(
            select(Submission)
            .where(Submission.obligation_id == ob.id, Submission.cycle_key == cycle.key, Submission.unit_id == unit_id)
            .order_by(Submission.received_at.desc(), Submission.id.desc())
        )
    )
    outcome: UnitOutcome
    if not subs:
        outcome = UnitOutcome(unit_id, "missing", None, [])
    else:
        counted, errors = None, []
        for sub in subs:
            content = None
            if revalidate or sub.status not in ("accepted", "rejected"):
                content = session.get(StoredFile, sub.sha256).content  # None: refused unread, over the size limit
            if content is not None:
                from bhxh.intake.submission import check_content

                _parsed, found, _ = check_content(
                    content, sub.original_name, catalogue=catalogue, registry=registry, expect_obligation=ob.id, expect_cycle=cycle.key
                )
                problems = [p.as_dict() for p in found]
            else:
                problems = list(sub.errors or [])
            if not problems:
                counted = sub
                break
            if sub is subs[0]:
                errors = problems
        if counted is not None:
            received = counted.received_at
            state = "late" if cycle.is_late(received) else "on_time"
            outcome = UnitOutcome(unit_id, state, counted.id, [], local_time(received))
        else:
            outcome = UnitOutcome(unit_id, "invalid", subs[0].id, errors, local_time(subs[0].received_at))
    session.execute(
        delete(ValidationResult).where(
            ValidationResult.obligation_id == ob.id, ValidationResult.cycle_key == cycle.key, ValidationResult.unit_id == unit_id
        )
    )
    session.add(
        ValidationResult(
            obligation_id=ob.id, cycle_key=cycle.key, unit_id=unit_id, submission_id=outcome.submission_id,
            state=outcome.state, errors=outcome.errors or None, checked_at=utcnow(),
        )
    )
    session.flush()
    return outcome


# -- the cycle DAG's tasks ---------------------------------------------------------------------------------
def prepare_cycle(
    obligation_id: str, key: str | None, asset_events: Mapping | None, interval_start: dt.datetime | None, store_url: str
) -> dict:
    """Resolve the cycle and the units expected on its deadline; create or upgrade the store.

    The cycle is the run's param `cycle`, else the one a feeding obligation's consolidated data (the asset
    events that triggered the run) feeds, else the cycle of the run's data interval.
    """
    catalogue = default_catalogue()
    if not key and asset_events:
        # Started by a feeding obligation's consolidated data: take the cycle it feeds.
        for events in asset_events.values():
            for event in events:
                extra = event.extra or {}
                fed = fed_cycle(catalogue, extra.get("obligation", ""), extra.get("cycle", ""))
                if fed is not None and fed.obligation_id == obligation_id:
                    key = fed.key
    if not key:
        key = cycle_for_interval(catalogue, obligation_id, interval_start).key
    init_store(store_url)
    plan = plan_cycle(obligation_id, key)
    return {"cycle": key, "units": [{"id": u.id, "name": u.name} for u in plan.units], "flags": plan.flags}


@dataclass
class BatchOutcome:
    """What one mapped `validate` instance found: the invalid units with their reasons, the missing ones."""

    invalid: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def validate_batch(obligation_id: str, cycle_key: str, units: list[dict], store_url: str, log: Callable[[str], None] = print) -> BatchOutcome:
    """Check each unit's latest submission, one transaction per unit, each unit's state to the store and `log`."""
    plan = plan_cycle(obligation_id, cycle_key)
    maker = session_factory(store_url)
    out = BatchOutcome()
    for unit in units:
        with maker() as session, session.begin():
            outcome = validate_unit(session, plan, unit["id"])
        log(f"{unit['name']}: {outcome.state}")
        if outcome.state == "invalid":
            out.invalid.append(f"{unit['name']}: báo cáo không hợp lệ / invalid report:\n" + problems_text(outcome.errors))
        elif outcome.state == "missing":
            out.missing.append(unit["name"])
    return out


def consolidate_cycle(
    obligation_id: str, cycle_key: str, store_url: str, out_dir: Path, documents: Mapping | None = None,
    log: Callable[[str], None] = print,
) -> tuple[dict[str, str], dict]:
    """The consolidated report (HTML, XLSX, DOCX, PDF) from the store, valid submissions only, compared with the
    targets and the previous cycle: (the files' paths, the consolidated data's summary for the asset event).
    `documents`: the issuer and signing settings (dags/common/wiring.py document_settings); `log` gets what was
    issued and whether the PDF is signed."""
    plan = plan_cycle(obligation_id, cycle_key)
    with session_factory(store_url)() as session:
        cons = consolidate(session, plan)
        comparison = compare(session, cons)
    paths = render_reports(cons, out_dir, comparison, settings=documents, log=log)
    extra = {"obligation": obligation_id, "cycle": plan.cycle.key, "expected": cons.expected, **cons.counts}
    return paths, extra


def check_completeness(obligation_id: str, cycle_key: str, store_url: str) -> tuple[dict, str]:
    """Who is missing or invalid, from the store, so no unit vanishes silently: (the summary, its log line)."""
    plan = plan_cycle(obligation_id, cycle_key)
    with session_factory(store_url)() as session:
        result = completeness(session, plan)
    line = (
        f"Phải báo cáo {result['expected']}: {result['counts']}; chưa nộp: {result['missing']}; "
        f"không hợp lệ: {sorted(result['invalid'])}; chưa kiểm tra: {result['not_checked']}"
    )
    summary = {k: result[k] for k in ("expected", "counts", "missing", "not_checked")} | {"invalid": sorted(result["invalid"])}
    return summary, line


def notify_cycle(obligation_id: str, cycle_key: str, reports: dict[str, str], store_url: str, channel_urls: dict[str, list[str]]) -> dict:
    """Queue the cycle's messages in the outbox and deliver them through the channels."""
    plan = plan_cycle(obligation_id, cycle_key)
    maker = session_factory(store_url)
    with maker() as session, session.begin():
        cons = consolidate(session, plan)
        queued = enqueue(session, cycle_messages(cons, reports))
    result = deliver_pending(maker, apprise_sender(channel_urls), obligation_id=obligation_id, cycle_key=plan.cycle.key)
    return {"queued": queued, **result}


def request_approval(obligation_id: str, cycle_key: str, reports: dict[str, str], store_url: str, channel_urls: dict[str, list[str]]) -> dict:
    """Tell the department that a report waits for the leadership's approval in Airflow."""
    plan = plan_cycle(obligation_id, cycle_key)
    maker = session_factory(store_url)
    with maker() as session, session.begin():
        enqueue(session, approval_messages(plan, reports))
    return deliver_pending(maker, apprise_sender(channel_urls), obligation_id=obligation_id, cycle_key=plan.cycle.key)

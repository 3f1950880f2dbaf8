"""A submission ("báo cáo của đơn vị"): a file checked against the obligation and cycle its name says it was
sent for, and kept in the store with its checksum and outcome; the same file for the same unit and cycle is kept
once. A file over the size limit is kept as its name, size, checksum and refusal only, never its content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import TZ, Cycle
from bhxh.calendar.expected import plan_cycle
from bhxh.calendar.forms import FILENAME_RE, META_SHEET, get_form
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.errors import BhxhError
from bhxh.intake.problems import Problem, cap_problems, problem, short
from bhxh.intake.reading import ParsedReport, read_report
from bhxh.intake.validation import unreadable, validate_report
from bhxh.store.models import StoredFile, Submission


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# -- ingest ---------------------------------------------------------------------------------------------
@dataclass
class IngestResult:
    status: str  # accepted | rejected
    unit: str | None
    obligation: str | None
    period: str | None
    errors: list[Problem]
    submission_id: int | None = None
    duplicate: bool = False
    late: bool | None = None
    error_count: int = 0  # every problem found; `errors` lists the first MAX_PROBLEMS and counts the rest

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "unit": self.unit,
            "obligation": self.obligation,
            "period": self.period,
            "errors": [e.as_dict() for e in self.errors],
            "error_count": self.error_count,
            "submission_id": self.submission_id,
            "duplicate": self.duplicate,
            "late": self.late,
        }


def check_content(
    content: bytes,
    filename: str,
    *,
    catalogue: Catalogue | None = None,
    registry: UnitRegistry | None = None,
    expect_obligation: str | None = None,
    expect_cycle: str | None = None,
    received_at: dt.datetime | None = None,
) -> tuple[ParsedReport, list[Problem], Cycle | None]:
    """Parse and validate a file's content against its obligation's form and cycle (and, given the time it was
    received, refuse a cycle not yet open). The problems are capped (`cap_problems`); `parsed.problem_count`
    says how many there were."""
    parsed, problems, cycle = _check_content(
        content, filename, catalogue or default_catalogue(), registry or default_registry(),
        expect_obligation, expect_cycle, received_at,
    )
    parsed.problem_count = len(problems)
    return parsed, cap_problems(problems), cycle


def _check_content(content, filename, catalogue, registry, expect_obligation, expect_cycle, received_at):
    guess = FILENAME_RE.match(Path(filename).name)
    obligation_id = expect_obligation or (guess["obligation"] if guess else None)
    form = None
    if obligation_id and obligation_id in catalogue.obligations:
        form = get_form(catalogue.get(obligation_id).schema_name)
    parsed = read_report(content, filename, form)
    obligation_id = expect_obligation or parsed.meta.get("obligation") or obligation_id
    if form is None and obligation_id in catalogue.obligations:
        form = get_form(catalogue.get(obligation_id).schema_name)
        parsed = read_report(content, filename, form)
    if form is None:
        problems = list(parsed.problems)
        if not unreadable(parsed) or not problems:
            problems.append(problem("unknown_obligation", f"Không xác định được báo cáo '{short(obligation_id or '')}'. Hãy ghi đúng 'Mã báo cáo' theo mẫu và đặt tên tệp theo quy ước.", f"Unknown report '{short(obligation_id or '')}'. Fill 'Mã báo cáo' from the template and name the file by the convention.", sheet=META_SHEET if parsed.kind != "csv" else None, column="Mã báo cáo"))
        return parsed, problems, None
    if unreadable(parsed):
        return parsed, list(parsed.problems), None
    meta_sheet = META_SHEET if parsed.kind != "csv" else None
    cycle = None
    period = expect_cycle or parsed.meta.get("period")
    if period:
        try:
            cycle = catalogue.cycle(obligation_id, period)
            if not _in_calendar(catalogue, obligation_id, cycle.key):
                cycle = None
                ob = catalogue.get(obligation_id)
                span = f"{ob.first_cycle or ''} - {ob.last_cycle or '...'}"
                parsed.problems.append(problem("wrong_period", f"Báo cáo '{obligation_id}' không có kỳ '{short(period)}' (các kỳ: {span}). Hãy ghi đúng kỳ đang báo cáo.", f"Report '{obligation_id}' has no period '{short(period)}' (periods: {span}). Write the period you are reporting for.", sheet=meta_sheet, column="Kỳ báo cáo"))
        except BhxhError as exc:
            parsed.problems.append(problem("wrong_period", f"{exc.message_vi} Hãy ghi đúng kỳ báo cáo (ví dụ 2019, 2019-H1, 2019-Q3).", f"{exc.message_en} Write the right period (e.g. 2019, 2019-H1, 2019-Q3).", sheet=meta_sheet, column="Kỳ báo cáo"))
        except Exception:  # a malformed key the calendar cannot even parse
            parsed.problems.append(problem("wrong_period", f"Kỳ báo cáo '{short(period)}' không hợp lệ. Hãy ghi kỳ dạng 2019, 2019-H1 hoặc 2019-Q3.", f"Period '{short(period)}' is not valid. Write it as 2019, 2019-H1 or 2019-Q3.", sheet=meta_sheet, column="Kỳ báo cáo"))
    if cycle is not None and received_at is not None:
        open_cycle = _open_before(catalogue, obligation_id, cycle, received_at)
        if open_cycle is not None:
            day = received_at.astimezone(TZ)
            parsed.problems.append(problem(
                "cycle_not_open",
                f"Kỳ {cycle.key} chưa mở: tệp nhận ngày {day:%d/%m/%Y}, khi kỳ đang mở là kỳ {open_cycle.key} (hạn hết ngày {open_cycle.effective_last_day:%d/%m/%Y}); kỳ {cycle.key} có hạn hết ngày {cycle.effective_last_day:%d/%m/%Y}. Hãy gửi báo cáo kỳ {cycle.key} sau hạn của kỳ {open_cycle.key}.",
                f"Period {cycle.key} is not open yet: the file was received on {day:%d/%m/%Y}, while the open period is {open_cycle.key} (due by the end of {open_cycle.effective_last_day:%d/%m/%Y}); period {cycle.key} is due by the end of {cycle.effective_last_day:%d/%m/%Y}. Send the report for {cycle.key} after the deadline of {open_cycle.key}.",
                sheet=meta_sheet, column="Kỳ báo cáo",
            ))
    unit_id = parsed.meta.get("unit")
    unit_group, unit_exists = None, True
    if unit_id:
        if unit_id in registry:
            unit = registry.get(unit_id)
            unit_group = unit.group
            unit_exists = unit.exists_on(cycle.effective_last_day) if cycle else True
            if cycle is not None and unit_exists and unit_id not in _reporters(catalogue, registry, obligation_id, cycle.key):
                day = cycle.effective_last_day
                ob = catalogue.get(obligation_id)
                parsed.problems.append(problem(
                    "not_a_reporter",
                    f"{unit.name_on(day)} không phải đơn vị gửi báo cáo '{ob.title_vi}' kỳ {cycle.key} (theo danh sách đơn vị báo cáo vào ngày hạn nộp {day:%d/%m/%Y}); tệp không được tính. Hãy kiểm tra lại Mã đơn vị và Mã báo cáo.",
                    f"{unit.name_on(day)} is not one of the units that send the report '{ob.title_en}' for period {cycle.key} (the reporting units on its deadline, {day:%d/%m/%Y}); the file does not count. Check the unit and report codes.",
                    sheet=meta_sheet, column="Mã đơn vị",
                ))
        else:
            parsed.problems.append(problem("unknown_unit", f"Mã đơn vị '{short(unit_id)}' không có trong danh mục đơn vị. Hãy ghi đúng mã đơn vị đã được cấp (xem sheet '{META_SHEET}' của tệp mẫu).", f"Unit code '{short(unit_id)}' is not in the unit registry. Write the unit code you were given.", sheet=meta_sheet, column="Mã đơn vị"))
    problems = validate_report(parsed, form, obligation_id=obligation_id, cycle=cycle, unit_group=unit_group, unit_exists=unit_exists, filename=filename)
    ob = catalogue.obligations.get(obligation_id or "")
    plan_id = ob.plan if ob else None
    # A plan-based report in XLSX carries its task sheets (a CSV carries the indicators only)
    if plan_id and parsed.kind == "xlsx" and parsed.frame is not None and unit_id and unit_id in registry:
        from bhxh.calendar.plans.model import load_plans
        from bhxh.intake.task_sheets import check_task_content

        day = cycle.effective_last_day if cycle else dt.date.today()
        parsed.tasks, task_problems = check_task_content(parsed.book or content, load_plans()[plan_id], unit_id, day, registry=registry)
        problems.extend(task_problems)
    return parsed, problems, cycle


_REPORTERS: dict[tuple, tuple[Catalogue, UnitRegistry, frozenset[str]]] = {}


def _reporters(catalogue: Catalogue, registry: UnitRegistry, obligation_id: str, key: str) -> frozenset[str]:
    """The units that must send this cycle's report, as the cycle's plan expects them on its deadline (kept per
    catalogue and registry object: the entry holds both, so their ids are not reused while it lives)."""
    cache_key = (id(catalogue), id(registry), obligation_id, key)
    hit = _REPORTERS.get(cache_key)
    if hit is not None and hit[0] is catalogue and hit[1] is registry:
        return hit[2]
    if len(_REPORTERS) > 256:
        _REPORTERS.clear()
    found = frozenset(u.id for u in plan_cycle(obligation_id, key, catalogue, registry).units)
    _REPORTERS[cache_key] = (catalogue, registry, found)
    return found


def _open_before(catalogue: Catalogue, obligation_id: str, cycle: Cycle, received_at: dt.datetime) -> Cycle | None:
    """The cycle open when the file came, if `cycle` is beyond it: a cycle of the same obligation whose deadline
    is still to come then, and earlier than `cycle`'s. None when `cycle` was open (or already past)."""
    if cycle.due_at <= received_at:
        return None
    ob = catalogue.get(obligation_id)
    year, last = received_at.astimezone(TZ).year, int(cycle.key[:4])
    for key in ob.cycle_keys(until_year=last + 1):
        if not year - 1 <= int(key[:4]) <= last or key == cycle.key:
            continue
        other = catalogue.cycle(obligation_id, key)
        if received_at < other.due_at < cycle.due_at:
            return other
    return None


def _in_calendar(catalogue: Catalogue, obligation_id: str, key: str) -> bool:
    """The cycle is one the obligation has (between its first and last cycle), not just a well-formed key."""
    try:
        return key in catalogue.get(obligation_id).cycle_keys(until_year=int(key[:4]) + 1)
    except Exception:  # a key the calendar cannot enumerate is not in it
        return False


def check_submission(
    content: bytes,
    filename: str,
    *,
    catalogue: Catalogue | None = None,
    registry: UnitRegistry | None = None,
    received_at: dt.datetime | None = None,
) -> tuple[ParsedReport, list[Problem], Cycle | None, dict[str, str | None]]:
    """What `ingest` decides before storing: the file checked against the obligation and cycle its name says it
    was sent for (the file's own block is checked against the name, and a mismatch is one problem).

    Returns the parsed report, its problems, the cycle and the (obligation, period, unit) it is filed under
    (from the file name when it follows the convention, else from the file's own block).
    """
    catalogue = catalogue or default_catalogue()
    guess = FILENAME_RE.match(Path(filename).name)
    named = guess["obligation"] if guess and guess["obligation"] in catalogue.obligations else None
    parsed, problems, cycle = check_content(
        content, filename, catalogue=catalogue, registry=registry,
        expect_obligation=named, expect_cycle=guess["period"] if guess else None, received_at=received_at,
    )
    return parsed, problems, cycle, _filed(parsed.meta, filename)


def _filed(meta: dict[str, str], filename: str) -> dict[str, str | None]:
    guess = FILENAME_RE.match(Path(filename).name)
    # The file name says which cycle and unit the file was sent for; the file's own block is checked against it.
    meta = {**meta, **({k: guess[k] for k in ("obligation", "period", "unit")} if guess else {})}
    return {
        "obligation": (meta.get("obligation") or None) and meta["obligation"][:64],
        "period": (meta.get("period") or None) and meta["period"][:16],
        "unit": (meta.get("unit") or None) and meta["unit"][:64],
    }


def ingest(
    session: Session,
    content: bytes,
    filename: str,
    received_at: dt.datetime,
    *,
    catalogue: Catalogue | None = None,
    registry: UnitRegistry | None = None,
    document_sha256: str | None = None,
    extra_problems: Sequence[Problem] = (),
) -> IngestResult:
    """Keep a file and its validation outcome; the same file for the same unit and cycle is kept once.

    `document_sha256`: the signed report sent with this appendix (bhxh.intake.parcels keeps its bytes), part of
    the version's identity; `extra_problems`: what the channel found wrong besides the appendix (a required
    signature missing or broken)."""
    parsed, problems, cycle, meta = check_submission(content, filename, catalogue=catalogue, registry=registry, received_at=received_at)
    problems = [*problems, *extra_problems]
    digest = sha256(content)
    existing = _existing(session, digest, meta, document_sha256 or "")
    if existing is not None:
        return existing
    if session.get(StoredFile, digest) is None:
        session.add(StoredFile(sha256=digest, size=len(content), content=content))
    data = None
    if not problems and parsed.frame is not None:
        data = {"rows": _jsonable(parsed.frame)}
        if parsed.tasks is not None:
            data["tasks"] = _jsonable(parsed.tasks)
    found = parsed.problem_count or len(problems) - len(extra_problems)  # every problem the intake itself found
    count = found + len(extra_problems)
    return _keep(session, meta, digest, filename, len(content), received_at, cycle, problems, count, data, document_sha256 or "")


def ingest_refused(
    session: Session, filename: str, size: int, digest: str, received_at: dt.datetime, reason: Problem
) -> IngestResult:
    """Keep a file that was refused before it was read (over the size limit): its name, size, checksum and the
    refusal, never its content (`stored_files.content` stays empty)."""
    meta = _filed({}, filename)
    existing = _existing(session, digest, meta)
    if existing is not None:
        return existing
    if session.get(StoredFile, digest) is None:
        session.add(StoredFile(sha256=digest, size=size, content=None))
    cycle = None
    if meta["obligation"] and meta["period"]:
        try:
            cycle = default_catalogue().cycle(meta["obligation"], meta["period"])
        except Exception:  # a name that only looks like the convention: no cycle to judge lateness by
            cycle = None
    return _keep(session, meta, digest, filename, size, received_at, cycle, [reason], 1, None)


def _existing(session: Session, digest: str, meta: dict[str, str | None], document_sha256: str = "") -> IngestResult | None:
    found = session.scalar(
        select(Submission).where(
            Submission.sha256 == digest,
            _same(Submission.obligation_id, meta["obligation"]),
            _same(Submission.cycle_key, meta["period"]),
            _same(Submission.unit_id, meta["unit"]),
            Submission.document_sha256 == document_sha256,
        )
    )
    if found is None:
        return None
    errors = [Problem(**e) for e in found.errors or []]
    return IngestResult(found.status, found.unit_id, found.obligation_id, found.cycle_key, errors, found.id,
                        duplicate=True, late=found.late, error_count=found.error_count or len(errors))


def _keep(session, meta, digest, filename, size, received_at, cycle, problems, count, data, document_sha256="") -> IngestResult:
    status = "rejected" if problems else "accepted"
    late = cycle.is_late(received_at) if cycle else None
    sub = Submission(
        obligation_id=meta["obligation"], cycle_key=meta["period"], unit_id=meta["unit"], sha256=digest,
        original_name=Path(filename).name[:255], size=size, received_at=received_at, status=status, late=late,
        data=data, errors=[p.as_dict() for p in problems] or None, error_count=count or len(problems),
        document_sha256=document_sha256,
    )
    session.add(sub)
    session.flush()
    return IngestResult(status, sub.unit_id, sub.obligation_id, sub.cycle_key, problems, sub.id, late=late,
                        error_count=sub.error_count)


def _same(column, value):
    """Equality that also matches NULL (an unreadable file has no unit or period, and is still kept once)."""
    return column.is_(None) if value is None else column == value


def _jsonable(frame: pd.DataFrame) -> list[dict]:
    """The rows as plain JSON: a blank (NaN) or a non-finite number (which validation never lets through) is null."""
    out = []
    for record in frame.to_dict(orient="records"):
        out.append({k: (None if (isinstance(v, float) and not math.isfinite(v)) else v) for k, v in record.items()})
    return out

"""A submission ("báo cáo của đơn vị"): a file checked against the cycle its name says it was sent for, and
kept in the store with its checksum and outcome; the same file for the same unit and cycle is kept once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import Cycle
from bhxh.calendar.forms import FILENAME_RE, META_SHEET, get_form
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.errors import BhxhError
from bhxh.intake.problems import Problem, problem, short
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

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "unit": self.unit,
            "obligation": self.obligation,
            "period": self.period,
            "errors": [e.as_dict() for e in self.errors],
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
) -> tuple[ParsedReport, list[Problem], Cycle | None]:
    """Parse and validate a file's content against its obligation's form and cycle."""
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
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
    unit_id = parsed.meta.get("unit")
    unit_group, unit_exists = None, True
    if unit_id:
        if unit_id in registry:
            unit = registry.get(unit_id)
            unit_group = unit.group
            unit_exists = unit.exists_on(cycle.effective_last_day) if cycle else True
        else:
            parsed.problems.append(problem("unknown_unit", f"Mã đơn vị '{short(unit_id)}' không có trong danh mục đơn vị. Hãy ghi đúng mã đơn vị đã được cấp (xem sheet '{META_SHEET}' của tệp mẫu).", f"Unit code '{short(unit_id)}' is not in the unit registry. Write the unit code you were given.", sheet=meta_sheet, column="Mã đơn vị"))
    problems = validate_report(parsed, form, obligation_id=obligation_id, cycle=cycle, unit_group=unit_group, unit_exists=unit_exists, filename=filename)
    ob = catalogue.obligations.get(obligation_id or "")
    plan_id = ob.plan if ob else None
    if plan_id and parsed.kind == "xlsx" and unit_id and unit_id in registry:
        from bhxh.intake.task_sheets import check_task_content, has_task_sheets

        if has_task_sheets(content):
            from bhxh.calendar.plans.model import load_plans

            day = cycle.effective_last_day if cycle else dt.date.today()
            parsed.tasks, task_problems = check_task_content(content, load_plans()[plan_id], unit_id, day, registry=registry)
            problems.extend(task_problems)
    return parsed, problems, cycle


def _in_calendar(catalogue: Catalogue, obligation_id: str, key: str) -> bool:
    """The cycle is one the obligation has (between its first and last cycle), not just a well-formed key."""
    try:
        return key in catalogue.get(obligation_id).cycle_keys(until_year=int(key[:4]) + 1)
    except Exception:  # a key the calendar cannot enumerate is not in it
        return False


def check_submission(
    content: bytes, filename: str, *, catalogue: Catalogue | None = None, registry: UnitRegistry | None = None
) -> tuple[ParsedReport, list[Problem], Cycle | None, dict[str, str | None]]:
    """What `ingest` decides before storing: the file checked against the cycle its name says it was sent for.

    Returns the parsed report, its problems, the cycle and the (obligation, period, unit) it is filed under
    (from the file name when it follows the convention, else from the file's own block).
    """
    guess = FILENAME_RE.match(Path(filename).name)
    parsed, problems, cycle = check_content(
        content, filename, catalogue=catalogue, registry=registry,
        expect_cycle=guess["period"] if guess else None,
    )
    # The file name says which cycle and unit the file was sent for; the file's own block is checked against it.
    meta = {**parsed.meta, **({k: guess[k] for k in ("obligation", "period", "unit")} if guess else {})}
    filed = {
        "obligation": (meta.get("obligation") or None) and meta["obligation"][:64],
        "period": (meta.get("period") or None) and meta["period"][:16],
        "unit": (meta.get("unit") or None) and meta["unit"][:64],
    }
    return parsed, problems, cycle, filed


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
    parsed, problems, cycle, meta = check_submission(content, filename, catalogue=catalogue, registry=registry)
    problems = [*problems, *extra_problems]
    digest = sha256(content)
    existing = session.scalar(
        select(Submission).where(
            Submission.sha256 == digest,
            _same(Submission.obligation_id, meta["obligation"]),
            _same(Submission.cycle_key, meta["period"]),
            _same(Submission.unit_id, meta["unit"]),
            Submission.document_sha256 == (document_sha256 or ""),
        )
    )
    if existing is not None:
        return IngestResult(existing.status, existing.unit_id, existing.obligation_id, existing.cycle_key,
                            [Problem(**e) for e in existing.errors or []], existing.id, duplicate=True, late=existing.late)
    if session.get(StoredFile, digest) is None:
        session.add(StoredFile(sha256=digest, size=len(content), content=content))
    status = "rejected" if problems else "accepted"
    late = cycle.is_late(received_at) if cycle else None
    data = None
    if not problems and parsed.frame is not None:
        data = {"rows": _jsonable(parsed.frame)}
        if parsed.tasks is not None:
            data["tasks"] = _jsonable(parsed.tasks)
    sub = Submission(
        obligation_id=meta["obligation"], cycle_key=meta["period"], unit_id=meta["unit"], sha256=digest,
        original_name=Path(filename).name[:255], size=len(content), received_at=received_at, status=status, late=late,
        data=data, errors=[p.as_dict() for p in problems] or None, document_sha256=document_sha256 or "",
    )
    session.add(sub)
    session.flush()
    return IngestResult(status, sub.unit_id, sub.obligation_id, sub.cycle_key, problems, sub.id, late=late)


def _same(column, value):
    """Equality that also matches NULL (an unreadable file has no unit or period, and is still kept once)."""
    return column.is_(None) if value is None else column == value


def _jsonable(frame: pd.DataFrame) -> list[dict]:
    out = []
    for record in frame.to_dict(orient="records"):
        out.append({k: (None if (isinstance(v, float) and v != v) else v) for k, v in record.items()})
    return out

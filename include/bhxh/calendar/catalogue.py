"""The catalogue ("danh mục nghĩa vụ báo cáo", data/catalogue.yaml): every obligation, loaded and validated,
with the lookups the DAGs and the timetable need (DAG ids, the cycle of a data interval, what feeds what).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from bhxh.calendar.cycles import TZ, Cycle, build_cycle
from bhxh.calendar.obligations import Note, Obligation
from bhxh.errors import CalendarError, DataFileError
from bhxh.yamlio import load_yaml

CATALOGUE_FILE = Path(__file__).parent / "data" / "catalogue.yaml"


class Catalogue:
    """Every obligation, loaded from the catalogue file and validated."""

    def __init__(self, obligations: list[Obligation], source: Path | None = None, notes: list[Note] | None = None) -> None:
        self.obligations = {ob.id: ob for ob in obligations}
        self.source = source
        self.notes = list(notes or [])

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
        from bhxh.calendar.plans.model import PLAN_IDS

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
        return cls(obligations, path, _notes(raw.get("notes") or [], seen, path))

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


def _notes(items: object, obligation_ids: set[str], path: Path) -> list[Note]:
    """The catalogue's `notes`: duties read in the seeds that are not calendar entries."""
    if not isinstance(items, list):
        raise DataFileError(f"{path}: 'notes' phải là danh sách", f"{path}: 'notes' must be a list", code="catalogue_file")
    notes = []
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("from_plan_task"):
            item = _note_from_plan_task(item, path)
        try:
            note = Note.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise DataFileError(
                f"{path}: ghi chú #{index + 1} không hợp lệ: {problems}",
                f"{path}: note #{index + 1} is invalid: {problems}",
                code="catalogue_entry",
            ) from exc
        if note.obligation and note.obligation not in obligation_ids:
            raise DataFileError(
                f"{path}: ghi chú '{note.id}' dẫn chiếu nghĩa vụ '{note.obligation}' không có trong danh mục",
                f"{path}: note '{note.id}' names unknown obligation '{note.obligation}'",
                code="catalogue_entry",
            )
        notes.append(note)
    return notes


def _note_from_plan_task(item: dict, path: Path) -> dict:
    """A note on a row of a plan: its document, place and cells as written come from the plan data."""
    from bhxh.calendar.plans.model import find_task, row_wording, task_place

    ref = str(item["from_plan_task"])
    typed = [k for k in ("document", "part", "wording") if k in item]
    if typed:
        raise DataFileError(
            f"{path}: ghi chú '{item.get('id')}' lấy từ nhiệm vụ {ref} nhưng lại ghi {typed}",
            f"{path}: note '{item.get('id')}' comes from plan task {ref} but also types {typed}",
            code="catalogue_entry",
        )
    plan, task = find_task(ref)
    rest = {k: v for k, v in item.items() if k != "from_plan_task"}
    return {**rest, "document": plan.source, "part": task_place(plan, task), "wording": row_wording(task)}


PLAN_TASK_FIELDS = ("legal_basis", "reporters", "department", "cooperating")
ROW_TIMING_FIELDS = ("recurrence", "deadline")


def resolve_plan_task(item: dict, path: Path | None = None) -> dict:
    """A catalogue entry with `from_plan_task` completed from the plan's task data (bhxh.calendar.plans): the timed
    report is typed once, in the plan; the entry must not type the fields it takes from there. Its `variants`
    with a `from_plan_task` of their own (a later row of the plan) are completed the same way; a variant's row
    must state the same timing as the entry's."""
    ref = item.get("from_plan_task")
    if not ref:
        return item
    from bhxh.calendar.plans.model import find_task, obligation_fields

    plan, task = find_task(str(ref), item.get("plan"))
    fields = obligation_fields(plan, task)
    taken = PLAN_TASK_FIELDS + tuple(k for k in ROW_TIMING_FIELDS if k in fields)
    typed = [k for k in taken if k in item]
    if typed:
        raise DataFileError(
            f"{path}: '{item.get('id')}' lấy từ nhiệm vụ {ref} của kế hoạch nhưng lại ghi {typed}; hãy xóa các trường này",
            f"{path}: '{item.get('id')}' comes from plan task {ref} but also types {typed}; remove them",
            code="catalogue_entry",
        )
    missing = [k for k in ROW_TIMING_FIELDS if k not in fields and k not in item]
    if missing:
        raise DataFileError(
            f"{path}: nhiệm vụ {ref} không nêu thời hạn 'Tháng M hằng năm'; '{item.get('id')}' phải ghi {missing} "
            "(kèm deadline.interpretation)",
            f"{path}: task {ref} states no 'Tháng M hằng năm' deadline; '{item.get('id')}' must type {missing} "
            "(with deadline.interpretation)",
            code="catalogue_entry",
        )
    variants = []
    for variant in item.get("variants") or []:
        vref = variant.get("from_plan_task") if isinstance(variant, dict) else None
        if vref:
            _, vtask = find_task(str(vref), plan.id)
            vfields = obligation_fields(plan, vtask)
            if any(vfields.get(k) != fields.get(k) for k in ROW_TIMING_FIELDS):
                raise DataFileError(
                    f"{path}: '{item.get('id')}': nhiệm vụ {vref} có thời hạn khác nhiệm vụ {ref}",
                    f"{path}: '{item.get('id')}': task {vref} states another timing than task {ref}",
                    code="catalogue_entry",
                )
            variant = {**{k: vfields[k] for k in ("legal_basis", "reporters", "cooperating")}, **variant}
        variants.append(variant)
    out = {**item, "plan": plan.id, **fields}
    if variants:
        out["variants"] = variants
    return out


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

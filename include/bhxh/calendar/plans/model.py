"""Plans as data: the task tables of the seed plans, read from include/bhxh/calendar/data/plans/<plan>.yaml.

A plan file holds every row of its table as a record (`Task`). `kind` tells a row apart:
- `group`: a heading row of the table ("I", "I.3", a unit heading of 2596/KH-BHXH); it carries no deadline;
- `objective`: a "Mục tiêu" row of 3035/KH-BHXH;
- `task` / `activity`: what a unit has to do; these are `Plan.tasks`, the rows a unit reports progress on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bhxh.errors import DataFileError
from bhxh.yamlio import load_yaml

PLANS_DIR = Path(__file__).resolve().parent.parent / "data" / "plans"
PLAN_IDS = ("nq51_action_programme", "nq28_dak_lak", "cchc_2021_2030", "org_restructuring_2019")
FORMAT_VERSION = 1
ACTIONABLE = ("task", "activity")
KINDS = ("group", "objective", "task", "activity")
RECURRENCES = (None, "yearly", "half-yearly", "quarterly", "continuous")


@dataclass
class Task:
    """One row of a plan table."""

    plan: str
    source: str
    id: str
    kind: str
    title: str
    parent: str | None = None
    lead: str | None = None
    co_leads: list[str] = field(default_factory=list)
    lead_text: str | None = None
    cooperating: list[str] = field(default_factory=list)
    cooperating_text: str | None = None
    product: str | None = None
    timing_text: str | None = None
    due: dt.date | None = None
    starts: dt.date | None = None  # "kể từ ngày 01/10/2019": from when the change applies (not a due date)
    due_month: int | None = None
    recurrence: str | None = None
    funding: str | None = None
    programme: str | None = None
    period: str | None = None
    horizon: str | None = None
    unresolved: list[str] = field(default_factory=list)

    def leads(self) -> list[str]:
        """The lead and any joint leads ("TST, TCKT, CSXH, CSYT" names four)."""
        return ([self.lead] if self.lead else []) + list(self.co_leads)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> Task:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        missing = {"plan", "source", "id", "kind", "title"} - set(data)
        if unknown or missing:
            raise DataFileError(
                f"{where}: bản ghi {data.get('id')!r} có trường lạ {sorted(unknown)} hoặc thiếu {sorted(missing)}",
                f"{where}: record {data.get('id')!r} has unknown fields {sorted(unknown)} or lacks {sorted(missing)}",
                code="plan_record",
            )
        values = dict(data)
        for key in ("due", "starts"):
            day = values.get(key)
            if isinstance(day, str):
                try:
                    values[key] = dt.date.fromisoformat(day)
                except ValueError as exc:
                    raise DataFileError(
                        f"{where}: ngày '{day}' ({key}) của {data['id']} không phải ngày ISO",
                        f"{where}: {key} '{day}' of {data['id']} is not an ISO date",
                        code="plan_record",
                    ) from exc
        if values.get("kind") not in KINDS or values.get("recurrence") not in RECURRENCES:
            raise DataFileError(
                f"{where}: loại hoặc chu kỳ không hợp lệ ở {data['id']}",
                f"{where}: invalid kind or recurrence in {data['id']}",
                code="plan_record",
            )
        return cls(**values)


@dataclass
class Plan:
    id: str
    source: str
    issued: dt.date
    title: str
    table: str
    items: list[Task]
    seed: str | None = None
    seed_sha256: str | None = None
    version: int = FORMAT_VERSION

    @property
    def tasks(self) -> list[Task]:
        """The rows a unit acts and reports on (tasks and activities; not headings or objectives)."""
        return [t for t in self.items if t.kind in ACTIONABLE]

    def get(self, task_id: str) -> Task:
        for t in self.items:
            if t.id == task_id:
                return t
        raise KeyError(task_id)

    def tasks_led_by(self, unit_id: str) -> list[Task]:
        return [t for t in self.tasks if unit_id in t.leads()]

    def tasks_cooperated_by(self, unit_id: str) -> list[Task]:
        return [t for t in self.tasks if unit_id in t.cooperating]

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.id,
            "version": self.version,
            "source": self.source,
            "issued": self.issued.isoformat(),
            "title": self.title,
            "table": self.table,
            "seed": self.seed,
            "seed_sha256": self.seed_sha256,
            "items": [t.to_dict() for t in self.items],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> Plan:
        try:
            items = [Task.from_dict(d, where) for d in data["items"]]
            plan = cls(
                id=data["plan"],
                source=data["source"],
                issued=dt.date.fromisoformat(str(data["issued"])),
                title=data["title"],
                table=data["table"],
                items=items,
                seed=data.get("seed"),
                seed_sha256=data.get("seed_sha256"),
                version=int(data.get("version", FORMAT_VERSION)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFileError(
                f"{where}: tệp kế hoạch không đúng cấu trúc ({exc})",
                f"{where}: malformed plan file ({exc})",
                code="plan_file",
            ) from exc
        ids = [t.id for t in items]
        if len(ids) != len(set(ids)):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise DataFileError(
                f"{where}: mã nhiệm vụ trùng {dup}", f"{where}: duplicate task ids {dup}", code="plan_file"
            )
        return plan


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100_000, default_flow_style=False)


def read_plan(path: Path) -> Plan:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataFileError(
            f"Không đọc được tệp kế hoạch {path.name}: {exc}",
            f"Cannot read plan file {path.name}: {exc}",
            code="plan_file",
        ) from exc
    if not isinstance(data, dict):
        raise DataFileError(
            f"{path.name}: tệp kế hoạch rỗng", f"{path.name}: empty plan file", code="plan_file"
        )
    return Plan.from_dict(data, path.name)


def load_plans(directory: Path | None = None) -> dict[str, Plan]:
    """Every kept plan file (not re-importing the seeds), by plan id."""
    if directory is None:
        return dict(_default_plans())
    return _load(directory)


def _load(directory: Path) -> dict[str, Plan]:
    plans: dict[str, Plan] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name in ("review.yaml", "overrides.yaml"):
            continue
        plan = read_plan(path)
        plans[plan.id] = plan
    return plans


@lru_cache(maxsize=1)
def _default_plans() -> dict[str, Plan]:
    return _load(PLANS_DIR)


def timed_reports(plans: dict[str, Plan] | None = None) -> list[Task]:
    """Tasks whose product is itself a report ("Báo cáo ...") due in a given month, for the calendar.

    E.g. 3035/KH-BHXH, tài chính công, Mục tiêu 3 (paying benefits without cash): "Báo cáo Thủ tướng Chính phủ
    tình hình thực hiện" led by Vụ TCKT, "Tháng 11 hằng năm".
    """
    from bhxh.calendar.plans.text import base

    plans = load_plans() if plans is None else plans
    out = []
    for plan_id in sorted(plans):
        for t in plans[plan_id].tasks:
            if t.product and base(t.product).startswith("bao cao") and t.due_month is not None:
                out.append(t)
    return out


def find_task(task_id: str, plan_id: str | None = None, plans: dict[str, Plan] | None = None) -> tuple[Plan, Task]:
    """The plan and the task (or activity) `task_id`, in `plan_id` or, without it, in whichever plan has it."""
    plans = load_plans() if plans is None else plans
    candidates = [plans[plan_id]] if plan_id in plans else ([] if plan_id else [plans[p] for p in sorted(plans)])
    found = [(plan, t) for plan in candidates for t in plan.tasks if t.id == task_id]
    if len(found) != 1:
        where = plan_id or "mọi kế hoạch / any plan"
        raise DataFileError(
            f"Không tìm thấy (hoặc có nhiều) nhiệm vụ '{task_id}' trong {where}",
            f"Task '{task_id}' not found (or found twice) in {where}",
            code="plan_task",
        )
    return found[0]


# The reform areas of 3035/KH-BHXH's table (ids `<area>.<horizon>.<objective>.<task>.<activity>`), as its part
# II.2 names them.
AREA_VI = {
    "tthc": "cải cách thủ tục hành chính",
    "to_chuc_bo_may": "cải cách tổ chức bộ máy",
    "cong_vu": "cải cách chế độ công vụ",
    "tai_chinh_cong": "cải cách tài chính công",
    "chinh_phu_so": "xây dựng và phát triển Chính phủ điện tử, Chính phủ số",
    "chi_dao": "chỉ đạo, điều hành",
}
HORIZON_HEADING = {"2025": "1. Đến năm 2025", "2030": "2. Đến năm 2030"}
LABELS = ("Mục tiêu", "Nhiệm vụ", "Hoạt động")


def task_place(plan: Plan, task: Task) -> str:
    """Where a row sits in its plan's table, in words: 'Phụ lục "...", cải cách tài chính công, "1. Đến năm
    2025", Mục tiêu 3, Nhiệm vụ 1, Hoạt động 8 (tai_chinh_cong.2025.3.1.8)'. The quoted parts are printed so in
    the seed (the table's title in capitals, the horizon heading)."""
    parts = [f'Phụ lục "{plan.table.upper()}"']
    segs = task.id.split(".")
    if segs[0] in AREA_VI:
        parts.append(AREA_VI[segs[0]])
        segs = segs[1:]
        if segs and segs[0] in HORIZON_HEADING:
            parts.append(f'"{HORIZON_HEADING[segs[0]]}"')
            segs = segs[1:]
        parts += [f"{label} {n}" for label, n in zip(LABELS, segs, strict=False)]
    return f"{', '.join(parts)} ({task.id})"


def objective_of_task(plan: Plan, task: Task) -> Task | None:
    """The objective row ("Mục tiêu") a task or activity sits under, if the plan has objectives."""
    seen: set[str] = set()
    current: Task | None = task
    while current is not None and current.parent and current.parent not in seen:
        seen.add(current.parent)
        try:
            current = plan.get(current.parent)
        except KeyError:
            return None
        if current.kind == "objective":
            return current
    return None


def row_wording(task: Task) -> str:
    """A row's cells as the seed writes them (content, product, lead, cooperating, time), joined by " | "."""
    return " | ".join(v for v in (task.title, task.product, task.lead_text, task.cooperating_text, task.timing_text) if v)


def obligation_fields(plan: Plan, task: Task) -> dict[str, Any]:
    """What a calendar obligation takes from a timed report of a plan (`from_plan_task` in the catalogue): who
    reports (the lead), who cooperates, the legal basis (the plan, the row, its cells as written, joined by " | ",
    and the objective it serves) and, when the row says "Tháng M hằng năm", the deadline (during month M,
    yearly). A row with another timing ("Hằng năm và kết thúc giai đoạn 3 năm") gives no deadline: the catalogue
    then types `recurrence` and `deadline`, marked as an interpretation. Raises DataFileError if the row has no
    single lead."""
    if not task.lead or task.lead.startswith("group:"):
        raise DataFileError(
            f"Nhiệm vụ {task.id} ({plan.source}) không có một đơn vị chủ trì để đưa vào lịch báo cáo",
            f"Task {task.id} ({plan.source}) has no single lead to put in the calendar",
            code="plan_task",
        )
    wording = row_wording(task)
    objective = objective_of_task(plan, task)
    fields: dict[str, Any] = {
        "legal_basis": {
            "document": plan.source,
            "date": plan.issued,
            "part": task_place(plan, task),
            "wording": wording,
            "context": objective.title if objective else None,
        },
        "reporters": {"units": [task.lead, *task.co_leads]},
        "department": task.lead,
        "cooperating": list(task.cooperating),
    }
    if task.recurrence == "yearly" and task.due_month is not None:
        fields["recurrence"] = "yearly"
        fields["deadline"] = {"rule": "during_month", "month": task.due_month, "year_offset": 0}
    return fields

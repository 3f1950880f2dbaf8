"""Whose tasks ("nhiệm vụ chủ trì, phối hợp"): the tasks a unit leads or cooperates on, resolved on a day
(the cycle's deadline), and when each task is due.

A plan names a unit (or its predecessor: the successor in the registry inherits its tasks) or a group of the
registry ("group:provincial" tasks belong to every provincial unit). "group:related" ("các đơn vị liên
quan") and "group:public_service_units" name no particular unit and assign nothing.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bhxh.calendar.plans.model import Plan, Task
from bhxh.calendar.units import UnitRegistry, default_registry

RECURRENCE_VI = {
    "yearly": "Hằng năm",
    "half-yearly": "6 tháng/lần",
    "quarterly": "Hằng quý",
    "continuous": "Thường xuyên",
}


# -- whose tasks ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnitTasks:
    """The tasks of one unit in one plan, in plan order."""

    led: list[Task]
    cooperating: list[Task]

    @property
    def led_ids(self) -> list[str]:
        return [t.id for t in self.led]

    @property
    def cooperating_ids(self) -> list[str]:
        return [t.id for t in self.cooperating]


class _Names:
    """Which units a task's lead or cooperating entries ("vu_tckt", "group:provincial") name on `day`: a unit
    named itself, the successor of a unit named (it inherits the tasks), or a member of a group named.
    Successors are looked up once per entry, not once per unit asked about."""

    def __init__(self, tokens: Iterable[str], day: dt.date, registry: UnitRegistry) -> None:
        self.registry = registry
        self.ids: set[str] = set()
        self.groups: list[str] = []
        for token in tokens:
            if token.startswith("group:"):
                self.groups.append(token.removeprefix("group:"))
                continue
            self.ids.add(token)
            if token in registry:
                successor = registry.successor_on(token, day)
                if successor is not None:
                    self.ids.add(successor.id)

    def __call__(self, unit_id: str) -> bool:
        if unit_id in self.ids:
            return True
        if not self.groups or unit_id not in self.registry:
            return False
        unit = self.registry.get(unit_id)
        return any(unit.in_group(g) for g in self.groups)


def units_tasks(plan: Plan, unit_ids: Iterable[str], day: dt.date, registry: UnitRegistry | None = None) -> dict[str, UnitTasks]:
    """`unit_tasks` of several units at once (the plan's entries resolved once)."""
    registry = registry or default_registry()
    names = [(task, _Names(task.leads(), day, registry), _Names(task.cooperating, day, registry)) for task in plan.tasks]
    out = {}
    for unit_id in unit_ids:
        led, coop = [], []
        for task, leads, cooperates in names:
            if leads(unit_id):
                led.append(task)
            elif cooperates(unit_id):
                coop.append(task)
        out[unit_id] = UnitTasks(led, coop)
    return out


def unit_tasks(plan: Plan, unit_id: str, day: dt.date, registry: UnitRegistry | None = None) -> UnitTasks:
    """The tasks `unit_id` leads (alone, jointly or through its group) and those it cooperates on."""
    return units_tasks(plan, [unit_id], day, registry)[unit_id]


def leads_among(task: Task, unit_ids: Iterable[str], day: dt.date, registry: UnitRegistry | None = None) -> list[str]:
    """The units of `unit_ids` that lead `task` on `day` (groups expanded)."""
    leads = _Names(task.leads(), day, registry or default_registry())
    return [u for u in unit_ids if leads(u)]


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, _cal.monthrange(year, month)[1])


def due_on(task: Task, day: dt.date) -> dt.date | None:
    """When `task` is due for a cycle whose deadline is `day`.

    A dated task is due on its date; a yearly one at the end of its month (or of the year) of `day`'s year; a
    half-yearly or quarterly one at the end of the half or quarter holding `day`; a continuous one never.
    """
    if task.due is not None:
        return task.due
    if task.recurrence == "yearly":
        return _month_end(day.year, task.due_month or 12)
    if task.recurrence == "half-yearly":
        return _month_end(day.year, 6 if day.month <= 6 else 12)
    if task.recurrence == "quarterly":
        return _month_end(day.year, ((day.month - 1) // 3 + 1) * 3)
    return None


def due_text(task: Task) -> str:
    """The due column of the template: dd/mm/yyyy, or the recurrence ("Hằng năm, tháng 11")."""
    if task.due is not None:
        return f"{task.due:%d/%m/%Y}"
    if task.recurrence:
        text = RECURRENCE_VI[task.recurrence]
        return f"{text}, tháng {task.due_month}" if task.due_month else text
    return ""

"""Who must report in a cycle and who receives ("đơn vị phải báo cáo"), resolved on the cycle's deadline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import Cycle
from bhxh.calendar.obligations import Obligation
from bhxh.calendar.units import UnitRegistry, default_registry

if TYPE_CHECKING:  # intake imports pandas and pandera (~0.4 s): only a revalidation needs it at run time
    pass


@dataclass
class ExpectedUnit:
    id: str
    name: str
    group: str
    email: str | None
    chat: str | None


@dataclass
class CyclePlan:
    """Who must report in a cycle and who receives, resolved on the cycle's deadline."""

    obligation: Obligation
    cycle: Cycle
    units: list[ExpectedUnit]
    recipient: ExpectedUnit | None
    flags: list[str] = field(default_factory=list)


def plan_cycle(obligation_id: str, key: str, catalogue: Catalogue | None = None, registry: UnitRegistry | None = None) -> CyclePlan:
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
    ob = catalogue.get(obligation_id)
    cycle = catalogue.cycle(obligation_id, key)
    day = cycle.effective_last_day
    seen: dict[str, ExpectedUnit] = {}
    flags: list[str] = []
    recipient_unit = registry.successor_on(ob.recipient, day)
    # The consolidating unit does not report to itself, even when it belongs to a reporting group.
    skip = {recipient_unit.id} if recipient_unit else set()
    for group in ob.reporters.groups:
        members = registry.members(group, day)
        if not members:
            flags.append(
                f"Nhóm đơn vị báo cáo '{group}' không còn đơn vị nào vào ngày {day:%d/%m/%Y}; cần chỉ định đơn vị kế thừa. "
                f"/ Reporting group '{group}' has no units on {day:%d/%m/%Y}; name a successor."
            )
        for unit in members:
            if unit.id not in skip:
                seen.setdefault(unit.id, _expected(unit, day))
    for unit_id in ob.reporters.units:
        unit = registry.successor_on(unit_id, day)
        if unit is None:
            flags.append(
                f"Đơn vị báo cáo '{unit_id}' không còn tồn tại và chưa có đơn vị kế thừa; cần chỉ định. "
                f"/ Reporting unit '{unit_id}' no longer exists and has no successor; name one."
            )
            continue
        seen.setdefault(unit.id, _expected(unit, day))
    if recipient_unit is None:
        flags.append(
            f"Đơn vị nhận báo cáo '{ob.recipient}' không còn tồn tại; cần chỉ định đơn vị kế thừa. "
            f"/ Recipient '{ob.recipient}' no longer exists; name a successor."
        )
    recipient = _expected(recipient_unit, day) if recipient_unit else None
    return CyclePlan(ob, cycle, list(seen.values()), recipient, flags)


def _expected(unit, day: dt.date) -> ExpectedUnit:
    return ExpectedUnit(unit.id, unit.name_on(day), unit.group, unit.email, unit.chat)

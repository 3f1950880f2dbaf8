"""Who must report in a cycle and who receives ("đơn vị phải báo cáo"), resolved on the cycle's deadline.

A unit is named by its name on the deadline; a recipient or reporter that ceased without a successor is flagged
("name a successor") and shown by its last known name, never by its code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import Cycle
from bhxh.calendar.obligations import Obligation
from bhxh.calendar.units import GROUP_VI, Unit, UnitRegistry, default_registry
from bhxh.templating import render


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

    obligation: Obligation  # as it stands for this cycle (Obligation.for_cycle)
    cycle: Cycle
    units: list[ExpectedUnit]
    recipient: ExpectedUnit | None  # None when the recipient ceased without a successor (flagged)
    flags: list[str] = field(default_factory=list)
    # The recipient that ceased without a successor, under its last known name, for display only: no address,
    # nothing is ever sent to it.
    recipient_ceased: ExpectedUnit | None = None
    cooperating: list[str] = field(default_factory=list)  # names of the cooperating units ("phối hợp")

    @property
    def recipient_name(self) -> str | None:
        """The recipient's name on the deadline, else the last known name of the one that ceased."""
        unit = self.recipient or self.recipient_ceased
        return unit.name if unit else None


def plan_cycle(obligation_id: str, key: str, catalogue: Catalogue | None = None, registry: UnitRegistry | None = None) -> CyclePlan:
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
    cycle = catalogue.cycle(obligation_id, key)
    ob = catalogue.get(obligation_id).for_cycle(cycle.key)
    day = cycle.effective_last_day
    seen: dict[str, ExpectedUnit] = {}
    flags: list[str] = []
    recipient_unit = registry.successor_on(ob.recipient, day)
    # The consolidating unit does not report to itself, even when it belongs to a reporting group.
    skip = {recipient_unit.id} if recipient_unit else set()
    for group in ob.reporters.groups:
        members = registry.members(group, day)
        if not members:
            flags.append(_flag("group_empty", group=GROUP_VI.get(group, group), day=day))
        for unit in members:
            if unit.id not in skip:
                seen.setdefault(unit.id, _expected(unit, day))
    for unit_id in ob.reporters.units:
        unit = registry.successor_on(unit_id, day)
        if unit is None:
            flags.append(_flag("reporter_ceased", name=last_known_name(registry.get(unit_id), day), day=day))
            continue
        seen.setdefault(unit.id, _expected(unit, day))
    ceased = None
    if recipient_unit is None:
        gone = registry.get(ob.recipient)
        ceased = ExpectedUnit(gone.id, last_known_name(gone, day), gone.group, None, None)
        flags.append(_flag("recipient_ceased", name=ceased.name, day=day))
    recipient = _expected(recipient_unit, day) if recipient_unit else None
    cooperating = [cooperating_name(ref, day, registry) for ref in ob.cooperating]
    return CyclePlan(ob, cycle, list(seen.values()), recipient, flags, ceased, cooperating)


def last_known_name(unit: Unit, day: dt.date) -> str:
    """The name a unit bore on `day`, or the last one it bore if it had ceased by then."""
    return unit.name_on(min(day, unit.valid_until) if unit.valid_until else day)


def cooperating_name(ref: str, day: dt.date, registry: UnitRegistry) -> str:
    """A cooperating unit or group of a plan row ("group:provincial", "vnpost") in words, on `day`."""
    if ref.startswith("group:"):
        return GROUP_VI.get(ref.removeprefix("group:"), ref.removeprefix("group:"))
    if ref not in registry:
        return ref
    unit = registry.successor_on(ref, day)
    return unit.name_on(day) if unit else last_known_name(registry.get(ref), day)


def _flag(kind: str, **context: object) -> str:
    return " ".join(render(f"calendar/flag_{kind}.txt.j2", **context).split())


def _expected(unit: Unit, day: dt.date) -> ExpectedUnit:
    return ExpectedUnit(unit.id, unit.name_on(day), unit.group, unit.email, unit.chat)

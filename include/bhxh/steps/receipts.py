"""The answers to a parcel ("giấy biên nhận", "thư trả lời"), whatever channel brought it: the receipt to the unit
(number, time received by the department's side, each file's name, size and SHA-256, the validation result and
the signature's state), the answer to a sender the registry does not know for the unit and the notice to the
department, and what to send when a message carried nothing usable. Rendered from templates/channels/ and
queued in the outbox in the caller's transaction, each once (its key names the parcel).
"""

from __future__ import annotations

import datetime as dt

from bhxh.calendar.catalogue import Catalogue, default_catalogue
from bhxh.calendar.cycles import TZ
from bhxh.calendar.units import UnitRegistry, default_registry
from bhxh.intake.parcels import ParcelOutcome
from bhxh.intake.signatures import STATE_TEXT
from bhxh.notify.outbox import Message
from bhxh.templating import render

DEFAULT_DEPARTMENT = "vu_khdt"  # the mailbox of seed 002 (khth.khdt@vss.gov.vn) is Vụ Kế hoạch và Đầu tư's


def local(value: dt.datetime) -> str:
    return value.astimezone(TZ).strftime("%H:%M:%S ngày %d/%m/%Y")


def receipt_context(outcome: ParcelOutcome, catalogue: Catalogue | None = None, registry: UnitRegistry | None = None) -> dict:
    """What a receipt shows, for the e-mail, the portal's page and its JSON alike."""
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
    ob = catalogue.obligations.get(outcome.obligation_id or "")
    cycle = None
    if ob and outcome.cycle_key:
        try:
            cycle = catalogue.cycle(ob.id, outcome.cycle_key)
        except Exception:  # a period the obligation never had: the receipt says what was received, no deadline
            cycle = None
    unit = registry.get(outcome.unit_id) if outcome.unit_id and outcome.unit_id in registry else None
    result = outcome.result
    return {
        "outcome": outcome,
        "number": outcome.receipt_number,
        "received_local": local(outcome.received_at),
        "received_utc": outcome.received_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "files": outcome.files,
        "obligation": ob,
        "cycle": cycle,
        "unit": unit,
        "unit_name": unit.name_on(cycle.effective_last_day) if unit and cycle else (unit.name if unit else outcome.unit_id),
        "result": result,
        "errors": [e.as_dict() for e in result.errors] if result else [],
        "signature": outcome.signature,
        "signature_text": STATE_TEXT[outcome.signature.state],
        "policy": outcome.policy,
        "signing_local": local(signer.signing_time) if (signer := outcome.signature.signer) and signer.signing_time else None,
    }


def receipt_json(outcome: ParcelOutcome, catalogue: Catalogue | None = None, registry: UnitRegistry | None = None) -> dict:
    """The receipt as the portal answers `Accept: application/json`."""
    ctx = receipt_context(outcome, catalogue, registry)
    result = outcome.result
    signer = outcome.signature.signer
    return {
        "receipt_number": outcome.receipt_number,
        "state": outcome.state,
        "received_at": ctx["received_utc"],
        "unit": outcome.unit_id,
        "obligation": outcome.obligation_id,
        "period": outcome.cycle_key,
        "files": [{"name": f.name, "role": f.role, "kind": f.kind, "size": f.size, "sha256": f.sha256, "note": f.note} for f in outcome.files],
        "status": result.status if result else None,
        "late": result.late if result else None,
        "duplicate": result.duplicate if result else False,
        "submission_id": result.submission_id if result else None,
        "errors": ctx["errors"],
        "signature": {
            "state": outcome.signature.state, "policy": outcome.policy,
            "message_vi": ctx["signature_text"][0], "message_en": ctx["signature_text"][1],
            "signer": signer.name if signer else None, "organisation": signer.organisation if signer else None,
            "signing_time": signer.signing_time.isoformat() if signer and signer.signing_time else None,
        },
    }


def parcel_messages(
    outcome: ParcelOutcome,
    *,
    catalogue: Catalogue | None = None,
    registry: UnitRegistry | None = None,
    department_id: str = DEFAULT_DEPARTMENT,
) -> list[Message]:
    """The messages a parcel owes: a receipt, or a held answer and the department's notice, or what to send."""
    if outcome.already:
        return []
    catalogue = catalogue or default_catalogue()
    registry = registry or default_registry()
    ctx = receipt_context(outcome, catalogue, registry)
    ob_id, key = outcome.obligation_id or "-", outcome.cycle_key or "-"
    out: list[Message] = []

    def add(template: str, kind: str, to: str | None, unit_id: str | None, **extra) -> None:
        if to:
            values = {**ctx, **extra}
            out.append(Message(ob_id[:64], key[:16], unit_id, kind, "email", to[:400],
                               render(f"channels/{template}.subject.j2", **values).strip(), render(f"channels/{template}.txt.j2", **values)))

    if outcome.state in ("stored", "released"):
        unit = ctx["unit"]
        add("receipt", f"receipt_{outcome.parcel_id}", unit.email if unit else None, outcome.unit_id)
    elif outcome.state == "held":
        add("held", f"held_{outcome.parcel_id}", outcome.sender, None)
        ob = ctx["obligation"]
        dept_id = ob.department if ob else department_id
        dept = registry.get(dept_id) if dept_id in registry else None
        add("held_department", f"held_dept_{outcome.parcel_id}", dept.email if dept else None, dept_id, department=dept)
    elif outcome.state == "refused":
        add("refused", f"refused_{outcome.parcel_id}", outcome.sender, None, reason=outcome.reason)
    return out

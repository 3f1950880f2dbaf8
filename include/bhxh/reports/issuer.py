"""Who issues a consolidated report, under which number and on which day ("cơ quan ban hành, số, ngày văn bản").

The department's data (data/issuers.yaml, with the Airflow connection `bhxh_issuer` merged over it) is resolved
for one cycle into an `Issuer`; the issue record (`phat_hanh.json` beside the cycle's documents) keeps the day the
report was first issued, so a re-render of the same cycle gives the same document.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bhxh.calendar.cycles import TZ
from bhxh.calendar.expected import CyclePlan
from bhxh.calendar.units import Unit, UnitRegistry, default_registry
from bhxh.errors import BhxhError, DataFileError
from bhxh.yamlio import load_yaml

DATA_FILE = Path(__file__).parent / "data" / "issuers.yaml"
RECORD_FILE = "phat_hanh.json"
FIELDS = {"parent", "name", "name_lines", "symbol", "place", "signer", "recipients", "documents"}
SIGNER_FIELDS = {"authority", "title", "name"}
MAX_TEXT = 200


class IssuerSettingsError(BhxhError):
    """The issuer data (data file or the `bhxh_issuer` connection) is not what the documents need."""


@dataclass(frozen=True)
class Signer:
    """The signature block ("chữ ký"): `authority` is the "KT."/"TL." line when someone signs on another's behalf;
    `named` is false while the name is still the placeholder."""

    title: str
    name: str
    authority: str | None = None
    named: bool = True


@dataclass(frozen=True)
class Issuer:
    unit_id: str
    parent: str
    name: str
    symbol: str
    place: str
    signer: Signer
    recipients: tuple[str, ...]
    number: str  # "" until the registry ("văn thư") gives one: "Số:" stays blank
    issued_on: dt.date
    name_lines: tuple[str, ...] = ()  # the name as the header breaks it, when it is too long for one line


def _clean(value: Any, where: str) -> str:
    if not isinstance(value, str | int):
        raise IssuerSettingsError(
            f"Thông tin cơ quan ban hành: '{where}' phải là chuỗi ký tự.",
            f"Issuer settings: '{where}' must be a string.",
            code="issuer_settings",
        )
    text = "".join(ch for ch in unicodedata.normalize("NFC", str(value)) if ch.isprintable()).strip()
    return text[:MAX_TEXT]


def _check(entry: Any, where: str) -> dict:
    if entry is None:
        return {}
    if not isinstance(entry, Mapping) or not set(entry) <= FIELDS:
        unknown = sorted(set(entry) - FIELDS) if isinstance(entry, Mapping) else []
        raise IssuerSettingsError(
            f"Thông tin cơ quan ban hành '{where}' không hợp lệ (trường không biết: {unknown}); các trường: {sorted(FIELDS)}.",
            f"Issuer settings '{where}' are invalid (unknown fields: {unknown}); the fields are {sorted(FIELDS)}.",
            code="issuer_settings",
        )
    out: dict[str, Any] = {}
    for key in ("parent", "name", "symbol", "place"):
        if entry.get(key) is not None:
            out[key] = _clean(entry[key], f"{where}.{key}")
    signer = entry.get("signer")
    if signer is not None:
        if not isinstance(signer, Mapping) or not set(signer) <= SIGNER_FIELDS:
            raise IssuerSettingsError(
                f"'{where}.signer' phải gồm các trường {sorted(SIGNER_FIELDS)}.",
                f"'{where}.signer' must hold the fields {sorted(SIGNER_FIELDS)}.",
                code="issuer_settings",
            )
        out["signer"] = {k: _clean(v, f"{where}.signer.{k}") for k, v in signer.items() if v is not None}
    if entry.get("name_lines") is not None:
        if not isinstance(entry["name_lines"], list) or not 1 <= len(entry["name_lines"]) <= 3:
            raise IssuerSettingsError(
                f"'{where}.name_lines' phải là danh sách 1 đến 3 dòng.", f"'{where}.name_lines' must be a list of 1 to 3 lines.",
                code="issuer_settings",
            )
        out["name_lines"] = [_clean(r, f"{where}.name_lines") for r in entry["name_lines"]]
    if entry.get("recipients") is not None:
        if not isinstance(entry["recipients"], list):
            raise IssuerSettingsError(
                f"'{where}.recipients' phải là danh sách.", f"'{where}.recipients' must be a list.", code="issuer_settings"
            )
        out["recipients"] = [_clean(r, f"{where}.recipients") for r in entry["recipients"]][:30]
    docs = entry.get("documents")
    if docs is not None:
        if not isinstance(docs, Mapping):
            raise IssuerSettingsError(
                f"'{where}.documents' phải có dạng {{\"<mã báo cáo>/<kỳ>\": {{\"number\": ..., \"date\": \"YYYY-MM-DD\"}}}}.",
                f"'{where}.documents' must look like {{\"<obligation>/<cycle>\": {{\"number\": ..., \"date\": \"YYYY-MM-DD\"}}}}.",
                code="issuer_settings",
            )
        out["documents"] = {str(k): _document(v, f"{where}.documents.{k}") for k, v in docs.items()}
    return out


def _document(value: Any, where: str) -> dict:
    if not isinstance(value, Mapping) or not set(value) <= {"number", "date"}:
        raise IssuerSettingsError(
            f"'{where}' chỉ gồm 'number' và 'date'.", f"'{where}' holds only 'number' and 'date'.", code="issuer_settings"
        )
    out: dict[str, Any] = {}
    if value.get("number") is not None:
        out["number"] = _clean(value["number"], where + ".number")[:20]
    if value.get("date") is not None:
        out["date"] = _date(value["date"], where + ".date")
    return out


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise IssuerSettingsError(
            f"'{where}': ngày '{str(value)[:20]}' phải viết YYYY-MM-DD.",
            f"'{where}': the date '{str(value)[:20]}' must be written YYYY-MM-DD.",
            code="issuer_settings",
        ) from exc


@lru_cache(maxsize=4)
def _load(path: str = str(DATA_FILE)) -> dict:
    try:
        raw = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
        data = {
            "placeholders": dict(raw["placeholders"]),
            "heads": dict(raw["heads"]),
            "issuers": {uid: _check(entry, uid) for uid, entry in (raw.get("issuers") or {}).items()},
        }
    except (OSError, KeyError, TypeError, ValueError, BhxhError) as exc:
        raise DataFileError(
            f"Tệp cơ quan ban hành {path} không đọc được: {exc}",
            f"The issuer data file {path} cannot be read: {exc}",
            code="issuer_file",
        ) from exc
    return data


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = {**out.get(key, {}), **value} if key in ("signer", "documents") else value
    return out


def head_title(name: str, heads: Mapping[str, str]) -> str:
    """The head's title for a unit's name: "Vụ Kế hoạch và Đầu tư" -> "VỤ TRƯỞNG" (longest matching first words)."""
    match = max((p for p in heads if name == p or name.startswith(p + " ")), key=len, default=None)
    return heads[match] if match else "THỦ TRƯỞNG CƠ QUAN"


def _unit_on(registry: UnitRegistry, unit_id: str, day: dt.date) -> Unit | None:
    """The unit on the day (its successor when it has ceased), else the unit as last known: never its bare id."""
    unit = registry.successor_on(unit_id, day)
    if unit is None and unit_id in registry:
        unit = registry.get(unit_id)
    return unit


def document_key(plan: CyclePlan) -> str:
    return f"{plan.obligation.id}/{plan.cycle.key}"


def resolve_issuer(
    plan: CyclePlan,
    overrides: Mapping | None = None,
    *,
    issued_on: dt.date,
    number: str = "",
    registry: UnitRegistry | None = None,
    data_file: Path = DATA_FILE,
) -> Issuer:
    """The issuer of the cycle's consolidated report: the department on the cycle's last day, its data merged with
    the `bhxh_issuer` connection's (`overrides`, keyed by unit id like the data file)."""
    registry = registry or default_registry()
    data = _load(str(data_file))
    ob, day = plan.obligation, plan.cycle.effective_last_day
    unit = _unit_on(registry, ob.department, day)
    unit_id = unit.id if unit else ob.department
    over = {str(k): _check(v, f"bhxh_issuer.{k}") for k, v in (overrides or {}).items()}
    entry: dict = {}
    for uid in dict.fromkeys((ob.department, unit_id)):  # the catalogue's department, then its successor
        entry = _merge(entry, data["issuers"].get(uid, {}))
    for uid in dict.fromkeys((ob.department, unit_id)):
        entry = _merge(entry, over.get(uid, {}))
    name = entry.get("name") or (unit.name_on(day) if unit else None)
    if not name:
        raise IssuerSettingsError(
            f"Chưa có tên cơ quan ban hành cho '{ob.department}': hãy khai báo trong {data_file.name} hoặc kết nối bhxh_issuer.",
            f"No issuing unit name for '{ob.department}': set it in {data_file.name} or the bhxh_issuer connection.",
            code="issuer_settings",
        )
    parent_unit = _unit_on(registry, unit.parent, day) if unit and unit.parent else None
    parent = entry.get("parent") or (parent_unit.name_on(day) if parent_unit else "")
    symbol = entry.get("symbol") or (unit.abbreviations[0].replace(" ", "").upper() if unit and unit.abbreviations else "")
    if not symbol:
        raise IssuerSettingsError(
            f"Chưa có chữ viết tắt (symbol) của {name} cho số văn bản: hãy khai báo trong {data_file.name} hoặc kết nối bhxh_issuer.",
            f"No abbreviation (symbol) of {name} for the document number: set it in {data_file.name} or the bhxh_issuer connection.",
            code="issuer_settings",
        )
    place = entry.get("place") or (unit.seat if unit and unit.seat else "") or (parent_unit.seat if parent_unit else "") or "Hà Nội"
    s = entry.get("signer", {})
    signer = Signer(
        title=s.get("title") or head_title(name, data["heads"]),
        name=s.get("name") or data["placeholders"]["signer_name"],
        authority=s.get("authority") or None,
        named=bool(s.get("name")),
    )
    recipients = tuple(entry.get("recipients") or _default_recipients(plan, registry, unit_id, parent))
    doc = entry.get("documents", {}).get(document_key(plan), {})
    return Issuer(
        unit_id=unit_id,
        parent=parent,
        name=name,
        symbol=symbol,
        place=place,
        signer=signer,
        recipients=recipients,
        number=doc.get("number") or number,
        issued_on=doc.get("date") or issued_on,
        name_lines=tuple(entry.get("name_lines") or (name,)),
    )


def settings_document(plan: CyclePlan, overrides: Mapping | None) -> dict:
    """The {number, date} the department set for this cycle's document in the connection, if any."""
    out: dict = {}
    for entry in (overrides or {}).values():
        out.update(_check(entry, "bhxh_issuer").get("documents", {}).get(document_key(plan), {}))
    return out


def _default_recipients(plan: CyclePlan, registry: UnitRegistry, issuer_id: str, parent: str) -> list[str]:
    ob, day = plan.obligation, plan.cycle.effective_last_day
    out = []
    if plan.recipient and plan.recipient.id != issuer_id:
        out.append(f"{plan.recipient.name} (để báo cáo)")
    elif parent:
        out.append(f"{parent} (để báo cáo)")
    for unit_id in ob.also_to:
        unit = _unit_on(registry, unit_id, day)
        if unit is not None:
            out.append(f"{unit.name_on(day)} (để phối hợp)")
    out.append("Các đơn vị báo cáo (để biết)")
    return out


# -- the issue record -------------------------------------------------------------------------------------
def today() -> dt.date:
    """Today in Asia/Ho_Chi_Minh (the day a consolidation runs is the day its report is issued)."""
    return dt.datetime.now(TZ).date()


def read_record(folder: Path) -> dict:
    """The cycle's issue record: {"issued_on", "number", "docx_sha256", "pdf_sha256", "signed"}; {} when none or unreadable."""
    try:
        data = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_record(folder: Path, record: Mapping) -> Path:
    path = folder / RECORD_FILE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(record), ensure_ascii=False, indent=1, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def recorded_date(record: Mapping) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(record["issued_on"]))
    except (KeyError, ValueError):
        return None

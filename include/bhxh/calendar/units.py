"""Effective-dated registry of the units that report and receive reports.

The data lives in ``bhxh/data/units/*.yaml`` (one file per kind of unit) and ``contacts.yaml`` (site
configuration: e-mail and chat channel of each unit). The format is described in
``bhxh/data/units/README.md``. Everything here is plain Python: no Airflow import.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bhxh.errors import DataFileError, UnknownUnitError
from bhxh.yamlio import load_yaml

DATA_DIR = Path(__file__).resolve().parent / "data" / "units"
CONTACTS_FILE = "contacts.yaml"

GROUPS: frozenset[str] = frozenset(
    {"central", "provincial", "district_bhxh", "daklak_department", "daklak_district", "recipient", "partner"}
)

# The groups in words, for texts people read (flags, calendar, DAG docs); `related` and `public_service_units`
# are the plans' groups that are not registry groups ("các đơn vị liên quan", "các đơn vị sự nghiệp").
GROUP_VI: dict[str, str] = {
    "central": "các đơn vị thuộc BHXH Việt Nam ở Trung ương",
    "provincial": "BHXH các tỉnh, thành phố (BHXH khu vực từ 2025)",
    "district_bhxh": "BHXH các thành phố, thị xã thuộc tỉnh",
    "daklak_department": "các Sở, ban, ngành tỉnh Đắk Lắk",
    "daklak_district": "UBND các huyện, thị xã, thành phố tỉnh Đắk Lắk",
    "recipient": "cơ quan nhận báo cáo",
    "partner": "đối tác",
    "related": "các đơn vị liên quan",
    "public_service_units": "các đơn vị sự nghiệp",
}

_KNOWN_KEYS = frozenset(
    {
        "id", "group", "names", "short_name", "abbreviations", "valid_from", "valid_until", "parent",
        "successors", "absorbed", "seat", "sources", "notes", "aliases", "seed_name", "order", "also_groups",
        "region_1733", "predecessor_regions",
    }
)  # fmt: skip


@dataclass(frozen=True)
class NamePeriod:
    """A name in force from ``start`` to ``end`` (both inclusive; None = open)."""

    name: str
    start: date | None = None
    end: date | None = None

    @property
    def from_(self) -> date | None:
        return self.start

    @property
    def until(self) -> date | None:
        return self.end

    def covers(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Unit:
    id: str
    group: str
    names: tuple[NamePeriod, ...]
    valid_from: date | None
    valid_until: date | None
    parent: str | None
    successors: tuple[str, ...]
    absorbed: tuple[str, ...]
    abbreviations: tuple[str, ...]
    short_name: str | None
    email: str | None
    chat: str | None
    sources: tuple[str, ...]
    notes: str | None
    # Optional extras (kept after the fixed fields so positional construction stays stable).
    seat: str | None = None
    aliases: tuple[str, ...] = ()
    seed_name: str | None = None
    order: int | None = None
    also_groups: tuple[str, ...] = ()
    source_file: str | None = field(default=None, compare=False)
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def name_on(self, day: date) -> str:
        """The name in force on ``day``; the last known name after the last period, the first before the first."""
        for period in self.names:
            if period.covers(day):
                return period.name
        if self.names[0].start is not None and day < self.names[0].start:
            return self.names[0].name
        return self.name

    @property
    def name(self) -> str:
        """The latest name."""
        return self.names[-1].name

    def exists_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )

    def in_group(self, group: str) -> bool:
        return self.group == group or group in self.also_groups


# ---------------------------------------------------------------------------------------------- text matching

_PHRASES: tuple[tuple[str, str], ...] = (
    # Applied to lower-case ASCII text that still has its punctuation.
    (r"\bld\s*-?\s*tb\s*(?:&|va)\s*xh\b", " lao dong thuong binh va xa hoi "),
    (r"\bldtbxh\b", " lao dong thuong binh va xa hoi "),
    (r"\bvh\s*-?\s*tt\s*(?:&|va)\s*dl\b", " van hoa the thao va du lich "),
    (r"\btt\s*(?:&|va)\s*tt\b", " thong tin va truyen thong "),
    (r"\bkh\s*(?:&|va)\s*dt\b", " ke hoach va dau tu "),
    (r"\bgd\s*(?:&|va)\s*dt\b", " giao duc va dao tao "),
    (r"\bkh\s*(?:&|va)\s*cn\b", " khoa hoc va cong nghe "),
    (r"\btn\s*(?:&|va)\s*mt\b", " tai nguyen va moi truong "),
    (r"\bnn\s*(?:&|va)\s*ptnt\b", " nong nghiep va phat trien nong thon "),
    (r"\btp\s*\.", " thanh pho "),
    (r"\btx\s*\.", " thi xa "),
)
_WORDS: Mapping[str, str] = {
    "bhxh": "bao hiem xa hoi",
    "bhyt": "bao hiem y te",
    "bhtn": "bao hiem that nghiep",
    "ubnd": "uy ban nhan dan",
    "tp": "thanh pho",
    "tx": "thi xa",
    "tphcm": "thanh pho ho chi minh",
    "hcm": "ho chi minh",
    "vn": "viet nam",
    "cntt": "cong nghe thong tin",
    "csyt": "chinh sach bao hiem y te",
}


def fold(text: str) -> str:
    """Lower-case ASCII without diacritics (đ -> d), whitespace collapsed; punctuation kept."""
    text = unicodedata.normalize("NFC", text).replace("Đ", "D").replace("đ", "d")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def normalize_name(text: str) -> str:
    """Comparable form of a unit name: folded, common abbreviations expanded, punctuation dropped."""
    s = fold(text)
    for pattern, repl in _PHRASES:
        s = re.sub(pattern, repl, s)
    s = s.replace("&", " va ")
    s = re.sub(r"[^a-z0-9]+", " ", s)
    return " ".join(_WORDS.get(w, w) for w in s.split())


def _norm_abbr(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text))


# ---------------------------------------------------------------------------------------------- loading


def _err(
    file: str, unit_id: str | None, vi: str, en: str, code: str = "unit_registry_invalid"
) -> DataFileError:
    where_vi = f"Tệp {file}" + (f", đơn vị '{unit_id}'" if unit_id else "")
    where_en = f"File {file}" + (f", unit '{unit_id}'" if unit_id else "")
    return DataFileError(f"{where_vi}: {vi}", f"{where_en}: {en}", code=code)


def _as_date(value: Any, file: str, unit_id: str, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _err(
        file, unit_id, f"'{what}' không phải ngày hợp lệ (YYYY-MM-DD): {value!r}",
        f"'{what}' is not a valid date (YYYY-MM-DD): {value!r}",
    )  # fmt: skip


def _as_str_list(value: Any, file: str, unit_id: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _err(file, unit_id, f"'{what}' phải là danh sách chuỗi", f"'{what}' must be a list of strings")
    return tuple(v.strip() for v in value)


def _read_yaml(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _err(path.name, None, f"YAML không hợp lệ: {exc}", f"invalid YAML: {exc}") from exc


def _parse_unit(entry: Any, file: str, index: int) -> Unit:
    if not isinstance(entry, dict):
        raise _err(file, f"#{index + 1}", "mỗi đơn vị phải là một ánh xạ", "each unit must be a mapping")
    uid = entry.get("id")
    if not isinstance(uid, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", uid or ""):
        raise _err(
            file, str(uid) if uid else f"#{index + 1}",
            "mã đơn vị (id) phải là chữ thường ASCII, số và gạch dưới",
            "the unit id must be lowercase ASCII letters, digits and underscores",
        )  # fmt: skip
    unknown = set(entry) - _KNOWN_KEYS
    if unknown:
        raise _err(
            file, uid, f"khóa không được hỗ trợ: {sorted(unknown)}", f"unsupported keys: {sorted(unknown)}"
        )
    group = entry.get("group")
    if group not in GROUPS:
        raise _err(
            file, uid, f"nhóm '{group}' không hợp lệ (hợp lệ: {sorted(GROUPS)})",
            f"unknown group '{group}' (known: {sorted(GROUPS)})",
        )  # fmt: skip
    also = _as_str_list(entry.get("also_groups"), file, uid, "also_groups")
    for g in also:
        if g not in GROUPS:
            raise _err(
                file, uid, f"nhóm '{g}' trong also_groups không hợp lệ", f"unknown group '{g}' in also_groups"
            )

    raw_names = entry.get("names")
    if not isinstance(raw_names, list) or not raw_names:
        raise _err(file, uid, "thiếu danh sách tên (names)", "missing the list of names (names)")
    names: list[NamePeriod] = []
    for item in raw_names:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise _err(file, uid, "mỗi tên phải có trường 'name'", "each name must have a 'name'")
        start = _as_date(item.get("from"), file, uid, "names.from")
        end = _as_date(item.get("until"), file, uid, "names.until")
        if start and end and end < start:
            raise _err(
                file, uid, f"tên '{item['name']}': ngày kết thúc {end} trước ngày bắt đầu {start}",
                f"name '{item['name']}': until {end} is before from {start}",
            )  # fmt: skip
        names.append(NamePeriod(item["name"].strip(), start, end))
    for prev, nxt in zip(names, names[1:], strict=False):
        if prev.end is None or nxt.start is None or nxt.start <= prev.end:
            raise _err(
                file, uid, "các tên phải nối tiếp nhau theo thời gian (until của tên trước < from của tên sau)",
                "names must follow each other in time (until of a name < from of the next)",
            )  # fmt: skip

    valid_from = _as_date(entry.get("valid_from"), file, uid, "valid_from")
    valid_until = _as_date(entry.get("valid_until"), file, uid, "valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        raise _err(
            file, uid, f"valid_until {valid_until} trước valid_from {valid_from}",
            f"valid_until {valid_until} is before valid_from {valid_from}",
        )  # fmt: skip
    order = entry.get("order")
    if order is not None and (not isinstance(order, int) or isinstance(order, bool)):
        raise _err(file, uid, "'order' phải là số nguyên", "'order' must be an integer")
    parent = entry.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise _err(file, uid, "'parent' phải là mã đơn vị", "'parent' must be a unit id")
    notes = entry.get("notes")
    return Unit(
        id=uid,
        group=group,
        names=tuple(names),
        valid_from=valid_from,
        valid_until=valid_until,
        parent=parent,
        successors=_as_str_list(entry.get("successors"), file, uid, "successors"),
        absorbed=_as_str_list(entry.get("absorbed"), file, uid, "absorbed"),
        abbreviations=_as_str_list(entry.get("abbreviations"), file, uid, "abbreviations"),
        short_name=entry.get("short_name"),
        email=None,
        chat=None,
        sources=_as_str_list(entry.get("sources"), file, uid, "sources"),
        notes=str(notes).strip() if notes else None,
        seat=entry.get("seat"),
        aliases=_as_str_list(entry.get("aliases"), file, uid, "aliases"),
        seed_name=entry.get("seed_name"),
        order=order,
        also_groups=also,
        source_file=file,
        raw=dict(entry),
    )


def _read_contacts(path: Path) -> dict[str, dict[str, str | None]]:
    if not path.exists():
        return {}
    data = _read_yaml(path) or {}
    contacts = data.get("contacts") if isinstance(data, dict) else None
    if not isinstance(contacts, dict):
        raise _err(path.name, None, "thiếu ánh xạ 'contacts'", "missing the 'contacts' mapping")
    out: dict[str, dict[str, str | None]] = {}
    for uid, entry in contacts.items():
        if not isinstance(entry, dict):
            raise _err(
                path.name, str(uid), "liên hệ phải có email và/hoặc chat", "a contact needs email and/or chat"
            )
        out[str(uid)] = {"email": entry.get("email"), "chat": entry.get("chat")}
    return out


# ---------------------------------------------------------------------------------------------- registry


class UnitRegistry:
    """All units, loaded and validated from a folder of YAML files."""

    def __init__(self, units: Iterable[Unit], folder: Path | None = None) -> None:
        self._units: dict[str, Unit] = {u.id: u for u in units}
        self.folder = folder
        self._name_index: list[tuple[str, str, NamePeriod | None]] = []  # (normalized text, unit id, period)
        for u in self._units.values():
            for period in u.names:
                self._name_index.append((normalize_name(period.name), u.id, period))
            for extra in (*u.aliases, *(x for x in (u.short_name, u.seed_name) if x)):
                self._name_index.append((normalize_name(extra), u.id, None))

    # -- loading ------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: Path | None = None) -> UnitRegistry:
        folder = Path(folder) if folder is not None else DATA_DIR
        files = sorted(p for p in folder.glob("*.yaml") if p.name != CONTACTS_FILE)
        if not files:
            raise _err(str(folder), None, "không có tệp đơn vị (*.yaml)", "no unit files (*.yaml)")
        units: dict[str, Unit] = {}
        for path in files:
            data = _read_yaml(path)
            entries = data.get("units") if isinstance(data, dict) else None
            if not isinstance(entries, list):
                raise _err(path.name, None, "thiếu danh sách 'units'", "missing the 'units' list")
            for i, entry in enumerate(entries):
                unit = _parse_unit(entry, path.name, i)
                if unit.id in units:
                    raise _err(
                        path.name, unit.id, f"mã đơn vị trùng (đã có trong {units[unit.id].source_file})",
                        f"duplicate unit id (already defined in {units[unit.id].source_file})",
                    )  # fmt: skip
                units[unit.id] = unit
        contacts = _read_contacts(folder / CONTACTS_FILE)
        for uid in contacts:
            if uid not in units:
                raise _err(
                    CONTACTS_FILE, uid, "liên hệ của đơn vị không tồn tại", "contact for an unknown unit"
                )
        resolved = []
        for u in units.values():
            c = contacts.get(u.id, {})
            resolved.append(_replace_contacts(u, c.get("email"), c.get("chat")))
        for u in resolved:
            refs = [("parent", u.parent)] if u.parent else []
            refs += [("successors", s) for s in u.successors] + [("absorbed", a) for a in u.absorbed]
            for key, ref in refs:
                if ref not in units:
                    raise _err(
                        u.source_file or "?", u.id, f"'{key}' trỏ tới đơn vị không tồn tại '{ref}'",
                        f"'{key}' refers to an unknown unit '{ref}'",
                    )  # fmt: skip
            if u.id in u.successors:
                raise _err(
                    u.source_file or "?",
                    u.id,
                    "đơn vị không thể kế thừa chính nó",
                    "a unit cannot succeed itself",
                )
        return cls(resolved, folder)

    # -- queries ------------------------------------------------------------------------------------------
    def get(self, unit_id: str) -> Unit:
        try:
            return self._units[unit_id]
        except KeyError:
            raise UnknownUnitError(
                f"Không có đơn vị '{unit_id}' trong danh mục đơn vị",
                f"No unit '{unit_id}' in the unit registry",
                code="unknown_unit",
            ) from None

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._units

    def __len__(self) -> int:
        return len(self._units)

    def all(self) -> list[Unit]:
        return sorted(self._units.values(), key=_sort_key)

    def members(self, group: str, day: date) -> list[Unit]:
        """Units of ``group`` (or listing it in also_groups) that exist on ``day``, in a stable order."""
        if group not in GROUPS:
            raise UnknownUnitError(
                f"Nhóm đơn vị '{group}' không tồn tại", f"Unknown unit group '{group}'", code="unknown_group"
            )
        return sorted(
            (u for u in self._units.values() if u.in_group(group) and u.exists_on(day)), key=_sort_key
        )

    def successor_on(self, unit_id: str, day: date) -> Unit | None:
        """The unit itself if it exists on ``day``, else the nearest successor that does: the direct successors
        first (in their order), then theirs. None if the chain ends (the unit ceased without a successor), or
        ``day`` is before the unit existed, or falls between a unit's end and its successor's start.

        Nearest first matters when a unit has several successors over time: a 2019 provincial office lists its
        2025 region and the office of the new province; on a day of 2026 the office of the province answers, not
        whichever office the region's territory went to first."""
        unit = self.get(unit_id)
        if unit.exists_on(day):
            return unit
        if unit.valid_from is not None and day < unit.valid_from:
            return None
        seen, frontier = {unit.id}, [unit]
        while frontier:
            following: list[Unit] = []
            for current in frontier:
                for sid in current.successors:
                    if sid in seen:
                        continue
                    seen.add(sid)
                    succ = self._units[sid]
                    if succ.exists_on(day):
                        return succ
                    if succ.valid_from is None or succ.valid_from <= day:
                        following.append(succ)
            frontier = following
        return None

    def by_abbreviation(self, abbr: str, day: date | None = None) -> Unit | None:
        """The unit using ``abbr`` (case/diacritic/punctuation-insensitive). With ``day``, only a unit existing
        then; without, the latest-ending one."""
        key = _norm_abbr(abbr)
        if not key:
            return None
        hits = [u for u in self._units.values() if any(_norm_abbr(a) == key for a in u.abbreviations)]
        if day is not None:
            hits = [u for u in hits if u.exists_on(day)]
        return _pick_latest(hits)

    def find_by_name(self, text: str, day: date | None = None) -> Unit | None:
        """Tolerant match of a free-text unit name as the seeds write it.

        Exact match of the normalized text on a name (in force on ``day`` when given), alias, short name or
        abbreviation first; then a unique unit whose name starts with, or contains, the text as whole words.
        A generic phrase that fits many units ("BHXH tỉnh") returns None rather than a guess. With ``day``,
        units existing that day are preferred; if none does, the unit that bore the name is returned.
        """
        if not text or not text.strip():
            return None
        found = self._find_by_name(text, day)
        if found is None and day is not None:
            # No unit of that name exists on ``day``: return the one that bore the name, so that the caller can
            # follow ``successor_on`` (or flag a unit that ceased without successor).
            found = self._find_by_name(text, None)
        return found

    def _find_by_name(self, text: str, day: date | None) -> Unit | None:
        abbr_hit = self.by_abbreviation(text, day) if len(text.strip()) <= 12 else None
        q = normalize_name(text)
        if not q:
            return None

        def alive(uid: str) -> bool:
            return day is None or self._units[uid].exists_on(day)

        exact = {uid for norm, uid, period in self._name_index if norm == q and alive(uid)}
        if day is not None:
            dated = {
                uid for norm, uid, period in self._name_index
                if norm == q and period is not None and period.covers(day) and alive(uid)
            }  # fmt: skip
            exact = dated or exact
        if exact:
            return _pick_latest([self._units[u] for u in exact])
        if abbr_hit is not None:
            return abbr_hit
        pattern = re.compile(rf"(?:^| ){re.escape(q)}(?: |$)")
        prefix = {uid for norm, uid, _ in self._name_index if norm.startswith(q + " ") and alive(uid)}
        if len(prefix) == 1:
            return self._units[prefix.pop()]
        if not prefix:
            contains = {uid for norm, uid, _ in self._name_index if pattern.search(norm) and alive(uid)}
            if len(contains) == 1:
                return self._units[contains.pop()]
        return None


def _replace_contacts(u: Unit, email: str | None, chat: str | None) -> Unit:
    return replace(u, email=email, chat=chat)


def _sort_key(u: Unit) -> tuple[int, int, str]:
    return (u.order is None, u.order if u.order is not None else 0, u.id)


def _pick_latest(units: list[Unit]) -> Unit | None:
    if not units:
        return None
    return max(units, key=lambda u: (u.valid_until or date.max, u.valid_from or date.min, u.id))


@lru_cache(maxsize=1)
def default_registry() -> UnitRegistry:
    """The registry shipped with the package (cached; call ``default_registry.cache_clear()`` after editing)."""
    return UnitRegistry.load()


__all__ = [
    "DATA_DIR",
    "GROUPS",
    "GROUP_VI",
    "NamePeriod",
    "Unit",
    "UnitRegistry",
    "default_registry",
    "fold",
    "normalize_name",
]

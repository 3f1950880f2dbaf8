"""Resolving the unit wording of a plan table ("Vụ Pháp chế", "TST, TCKT", "BHXH tỉnh, thành phố") to unit ids.

A cell is split into unit mentions (commas, semicolons, " và ", bullet dashes), keeping together the names
that contain such characters ("Ban Sổ, thẻ", "Sở Lao động - Thương binh và Xã hội", "BHXH tỉnh, thành phố").
Each mention resolves, in this order, to:

1. a group (not a unit): `group:provincial` (every provincial BHXH office), `group:central` (the units under
   BHXH Việt Nam), `group:related` ("các đơn vị liên quan": whichever units the task concerns),
   `group:public_service_units` ("các đơn vị sự nghiệp"), and for Đắk Lắk `group:daklak_department`
   ("các Sở, ban, ngành") and `group:daklak_district` (the district People's Committees);
2. a unit of the registry (`bhxh.calendar.units.default_registry()`): by abbreviation ("TCKT"), else by name, on the
   day the plan was issued; an abbreviation the registry does not know is expanded by `ABBREVIATIONS`;
3. nothing: the mention is listed in `unresolved` (and in review.yaml).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from bhxh.calendar.plans.text import base, clean

# Abbreviations used by 3035/KH-BHXH (its table names leads by abbreviation only).
ABBREVIATIONS: dict[str, str] = {
    "TST": "Ban Quản lý Thu - Sổ, thẻ",
    "VP": "Văn phòng",
    "CNTT": "Trung tâm Công nghệ thông tin",
    "TTCNTT": "Trung tâm Công nghệ thông tin",
    "TCKT": "Vụ Tài chính - Kế toán",
    "TCCB": "Vụ Tổ chức cán bộ",
    "CSXH": "Ban Thực hiện chính sách bảo hiểm xã hội",
    "CSYT": "Ban Thực hiện chính sách bảo hiểm y tế",
    "CSKH": "Trung tâm Dịch vụ hỗ trợ, chăm sóc khách hàng",
    "TT": "Trung tâm Truyền thông",
    "PC": "Vụ Pháp chế",
    "LT": "Trung tâm Lưu trữ",
    "TTLT": "Trung tâm Lưu trữ",
    "HTQT": "Vụ Hợp tác quốc tế",
    "VKH": "Viện Khoa học bảo hiểm xã hội",
    "TCBH": "Tạp chí Bảo hiểm xã hội",
}

# Groups, matched on the accent-free, lower-case mention.
_GROUPS: dict[str, str] = {
    "bhxh tinh": "group:provincial",
    "bhxh tinh, thanh pho": "group:provincial",
    "bhxh cac tinh, thanh pho": "group:provincial",
    "bhxh cap tinh": "group:provincial",
    "bao hiem xa hoi cac tinh, thanh pho": "group:provincial",
    "bhxh viet nam": "group:central",
    "cac don vi truc thuoc bhxh viet nam": "group:central",
    "cac don vi thuoc bhxh viet nam": "group:central",
    "cac vu, ban": "group:central",
    "cac vu, ban, don vi truc thuoc bhxh viet nam o trung uong": "group:central",
    "cac don vi lien quan": "group:related",
    "cac don vi lien quan thuoc bhxh viet nam": "group:related",
    "cac co quan lien quan": "group:related",
    "cac co quan co lien quan": "group:related",
    "cac co quan, don vi lien quan": "group:related",
    "cac don vi su nghiep": "group:public_service_units",
}
_DAKLAK_GROUPS: dict[str, str] = {
    "cac so, ban, nganh": "group:daklak_department",
    "ubnd cap huyen": "group:daklak_district",
    "cac dia phuong": "group:daklak_district",
    "ubnd cac huyen, thi xa, thanh pho": "group:daklak_district",
}
# In the Đắk Lắk plan "BHXH tỉnh" is the provincial office of Đắk Lắk, one unit.
_DAKLAK_PROVINCIAL = ("bhxh tinh", "bao hiem xa hoi tinh")
DAKLAK_BHXH_NAMES = ("Bảo hiểm xã hội tỉnh Đắk Lắk", "BHXH tỉnh Đắk Lắk")

# Names that contain a separator; protected before splitting.
_PROTECT = (
    "BHXH các tỉnh, thành phố",
    "BHXH tỉnh, thành phố",
    "BHXH tinh, thành phố",
    "Ban Quản lý Thu - Sổ, thẻ",
    "Sổ, thẻ",
    "Các Vụ, Ban, đơn vị trực thuộc BHXH Việt Nam ở Trung ương",
    "Các Vụ, Ban",
    "Các Sở, ban, ngành",
    "Các cơ quan, đơn vị",
    "Lao động - Thương binh và Xã hội",
    "Lao động -Thương binh và Xã hội",
    "Tài chính - Kế toán",
    "Kế hoạch và Đầu tư",
    "Thông tin và Truyền thông",
    "Phát thanh và truyền hình",
    "Giám định và thanh toán",
    "Tổ chức Đảng và cấp ủy",
    "chính trị-xã hội",
    "trong và ngoài",
    "thông tấn, báo chí",
    "Trung ương và địa phương",
    "dịch vụ hỗ trợ, chăm sóc",
)
_SPLIT_BEFORE = (" UBND cấp huyện",)
_PLACEHOLDER = {",": "\x01", ";": "\x02", " và ": "\x03", "-": "\x04"}


def split_units(text: str | None) -> list[str]:
    """The unit mentions of one cell, in order."""
    if not text:
        return []
    t = clean(text)
    t = re.sub(r"\([^)]*\)", ";", t)
    for hint in _SPLIT_BEFORE:
        t = t.replace(hint, ";" + hint)
    for phrase in sorted(_PROTECT, key=len, reverse=True):
        masked = phrase
        for sep, ph in _PLACEHOLDER.items():
            masked = masked.replace(sep, ph)
        t = re.sub(re.escape(phrase), masked, t, flags=re.IGNORECASE)
    parts = re.split(r"[,;]| và |(?:^|\s)-\s*|\s-(?=\S)", t)
    out = []
    for part in parts:
        for sep, ph in _PLACEHOLDER.items():
            part = part.replace(ph, sep)
        part = clean(part).strip(" .,;-")
        if part:
            out.append(part)
    return out


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", base(text)).strip()


@dataclass
class Resolution:
    ids: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def _load_registry() -> Any | None:
    try:
        from bhxh.calendar.units import default_registry
    except ImportError:  # the registry module is being written by another engineer
        return None
    return default_registry()


class UnitResolver:
    """Resolves unit mentions against the registry on a given day."""

    def __init__(self, registry: Any | None = None, *, load: bool = True) -> None:
        self.registry = registry if registry is not None or not load else _load_registry()

    def _by_abbreviation(self, abbr: str, day: dt.date) -> str | None:
        if self.registry is None:
            return None
        unit = self.registry.by_abbreviation(abbr, day)
        return unit.id if unit is not None else None

    def _by_name(self, name: str, day: dt.date) -> str | None:
        if self.registry is None:
            return None
        unit = self.registry.find_by_name(name, day)
        return unit.id if unit is not None else None

    def resolve_one(self, mention: str, day: dt.date, *, daklak: bool = False) -> str | None:
        key = _key(mention)
        if daklak:
            if key in _DAKLAK_PROVINCIAL:
                for name in DAKLAK_BHXH_NAMES:
                    if found := self._by_name(name, day):
                        return found
                return None
            if key in _DAKLAK_GROUPS:
                return _DAKLAK_GROUPS[key]
        if key in _GROUPS:
            return _GROUPS[key]
        if re.fullmatch(r"[A-ZĐ]{2,8}", mention):
            if found := self._by_abbreviation(mention, day):
                return found
            if mention in ABBREVIATIONS:
                return self._by_name(ABBREVIATIONS[mention], day)
            return None
        candidates = [mention]
        if daklak:
            candidates += [f"{mention} tỉnh Đắk Lắk", f"{mention} Đắk Lắk"]
        for name in candidates:
            if found := self._by_name(name, day):
                return found
        return None

    def resolve(self, text: str | None, day: dt.date, *, daklak: bool = False) -> Resolution:
        res = Resolution()
        for mention in split_units(text):
            unit_id = self.resolve_one(mention, day, daklak=daklak)
            if unit_id is None:
                if mention not in res.unresolved:
                    res.unresolved.append(mention)
            elif unit_id not in res.ids:
                res.ids.append(unit_id)
        return res

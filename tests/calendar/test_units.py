"""Tests of the effective-dated unit registry (bhxh.calendar.units): data counts, dates, successors, names, loader errors."""

from __future__ import annotations

import os
import re
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from bhxh.calendar.units import DATA_DIR, UnitRegistry, default_registry, normalize_name
from bhxh.errors import DataFileError, UnknownUnitError

SEEDS = Path(os.environ.get("BHXH_SEEDS_DIR") or Path(__file__).resolve().parents[3] / "shared" / "seeds")


def _seed(prefix: str) -> Path:
    """A seed text ($BHXH_SEEDS_DIR, else ../shared/seeds beside the repository); missing fails, never skips."""
    found = sorted(SEEDS.glob(f"{prefix}*.txt"))
    if not found:
        pytest.fail(f"Không thấy văn bản nguồn {prefix}*.txt ở {SEEDS} / seed {prefix}*.txt not in {SEEDS}: set BHXH_SEEDS_DIR", pytrace=False)
    return found[0]

# Seed 000's annex: 5 centrally-run cities then 58 provinces, in the seed's order (modern spelling).
SEED_ORDER = [
    "Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ",
    "An Giang", "Bà Rịa - Vũng Tàu", "Bạc Liêu", "Bắc Kạn", "Bắc Giang", "Bắc Ninh", "Bến Tre", "Bình Dương",
    "Bình Định", "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng", "Điện Biên", "Đắk Lắk", "Đắk Nông", "Đồng Nai",
    "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam", "Hà Tĩnh", "Hải Dương", "Hậu Giang", "Hòa Bình", "Hưng Yên",
    "Khánh Hòa", "Kiên Giang", "Kon Tum", "Lai Châu", "Lạng Sơn", "Lâm Đồng", "Lào Cai", "Long An", "Nam Định",
    "Nghệ An", "Ninh Bình", "Ninh Thuận", "Phú Thọ", "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi",
    "Quảng Ninh", "Quảng Trị", "Sóc Trăng", "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa",
    "Thừa Thiên Huế", "Tiền Giang", "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
]  # fmt: skip

# The abbreviations seed 001's table uses for units of BHXH Việt Nam.
SEED001_ABBREVIATIONS = {
    "TST": "ban_tst",
    "VP": "van_phong",
    "CNTT": "tt_cntt",
    "TTCNTT": "tt_cntt",
    "TCKT": "vu_tckt",
    "TCCB": "vu_tccb",
    "CSXH": "ban_csxh",
    "CSYT": "ban_csyt",
    "CSKH": "tt_cskh",
    "TT": "tt_truyen_thong",
    "PC": "vu_pc",
    "LT": "tt_luu_tru",
    "TTLT": "tt_luu_tru",
    "VKH": "vien_khoa_hoc",
    "TCBH": "tap_chi_bhxh",
    "HTQT": "vu_htqt",
}


@pytest.fixture(scope="module")
def reg() -> UnitRegistry:
    return UnitRegistry.load()


# ------------------------------------------------------------------------------------------------ counts


def test_default_registry_is_cached_and_loads_package_data() -> None:
    assert default_registry() is default_registry()
    assert "vu_khdt" in default_registry()
    assert UnitRegistry.load(DATA_DIR).get("vu_khdt").email == "khth.khdt@vss.gov.vn"


@pytest.mark.parametrize(
    ("day", "count"),
    [
        (date(2019, 11, 14), 63),
        (date(2025, 3, 31), 63),
        # 391/QĐ-BTC: 10 regions from 01/04/2025 (16 provinces) beside the other 47 offices; the 35 from 01/06/2025
        (date(2025, 4, 1), 10 + 47),
        (date(2025, 5, 31), 10 + 47),
        (date(2025, 6, 1), 35),
        (date(2025, 6, 30), 35),
        (date(2025, 7, 1), 34),
        (date(2025, 12, 1), 34),
    ],
)
def test_provincial_counts(reg: UnitRegistry, day: date, count: int) -> None:
    assert len(reg.members("provincial", day)) == count


def test_2019_cycle_expects_the_seed_63_in_seed_order(reg: UnitRegistry) -> None:
    members = reg.members("provincial", date(2019, 11, 14))
    assert [u.short_name for u in members] == SEED_ORDER
    assert members[0].id == "bhxh_tinh_ha_noi"
    assert members[1].id == "bhxh_tinh_ho_chi_minh"
    assert reg.get("bhxh_tinh_dak_lak").seed_name == "Đăk Lăk"
    assert reg.get("bhxh_tinh_dak_lak").name == "BHXH tỉnh Đắk Lắk"
    assert reg.get("bhxh_tinh_ba_ria_vung_tau").short_name == "Bà Rịa - Vũng Tàu"


def test_seed_000_annex_matches_the_data() -> None:
    """The 58 city/town offices of seed 000's annex are exactly the district_bhxh units (seed spelling)."""
    text = _seed("000_").read_text(encoding="utf-8")
    annex = text[text.index("DANH SÁCH") :]
    offices = re.findall(r"^(BHXH (?:thành phố|thị xã) .+?)\s*$", annex, flags=re.M)
    assert len(offices) == 58
    reg = default_registry()
    assert sorted(u.raw["seed_name"] for u in reg.all() if u.group == "district_bhxh") == sorted(offices)


# 391/QĐ-BTC's 35 regions (Báo Đồng Khởi for I-X; XI-XXXV from the secondary source the data cites).
REGIONS_391 = [
    "Hà Nội", "Hồ Chí Minh", "Cần Thơ", "Bình Dương", "Đồng Nai", "Thanh Hóa", "Nghệ An", "Hải Phòng - Thái Bình",
    "Lạng Sơn - Cao Bằng", "Thái Nguyên - Bắc Kạn", "Bắc Giang - Bắc Ninh", "Hải Dương - Quảng Ninh",
    "Nam Định - Ninh Bình", "Hưng Yên - Hà Nam", "Sơn La - Hòa Bình", "Điện Biên - Lai Châu", "Yên Bái - Lào Cai",
    "Phú Thọ - Vĩnh Phúc", "Hà Giang - Tuyên Quang", "Hà Tĩnh - Quảng Bình", "Thừa Thiên Huế - Quảng Trị",
    "Đà Nẵng - Quảng Nam", "Bình Định - Quảng Ngãi", "Khánh Hòa - Phú Yên", "Đắk Lắk - Đắk Nông", "Gia Lai - Kon Tum",
    "Lâm Đồng - Ninh Thuận", "Bà Rịa - Vũng Tàu - Bình Thuận", "Tây Ninh - Bình Phước", "An Giang - Đồng Tháp",
    "Kiên Giang - Hậu Giang", "Cà Mau - Bạc Liêu", "Sóc Trăng - Trà Vinh", "Long An - Tiền Giang", "Bến Tre - Vĩnh Long",
]  # fmt: skip
EARLY_REGIONS = {1, 4, 6, 7, 10, 11, 17, 19, 22, 32}


def test_regions_of_391_are_numbered_ordered_and_cover_the_63(reg: UnitRegistry) -> None:
    regions = reg.members("provincial", date(2025, 6, 1))
    assert [u.id for u in regions] == [f"bhxh_kv_{n:02d}" for n in range(1, 36)]
    assert regions[0].name == "BHXH khu vực I" and regions[-1].name == "BHXH khu vực XXXV"
    for n, (unit, territory) in enumerate(zip(regions, REGIONS_391, strict=True), start=1):
        provinces = territory.replace("Bà Rịa - Vũng Tàu", "Bà Rịa-Vũng Tàu").split(" - ")
        names = [reg.get(p).short_name.replace("Bà Rịa - Vũng Tàu", "Bà Rịa-Vũng Tàu") for p in unit.absorbed]
        assert names == provinces, unit.id
        assert unit.valid_from == (date(2025, 4, 1) if n in EARLY_REGIONS else date(2025, 6, 1)), unit.id
        assert unit.valid_until == date(2025, 6, 30) and unit.successors, unit.id
        assert any("SECONDARY SOURCE" in s for s in unit.sources), unit.id  # the start dates rest on it
    covered = [p for u in regions for p in u.absorbed]
    assert len(covered) == len(set(covered)) == 63  # every 2019 office in exactly one region


def test_each_office_works_until_its_region_starts(reg: UnitRegistry) -> None:
    early = {p for u in reg.members("provincial", date(2025, 4, 1)) for p in u.absorbed}
    assert len(early) == 16
    for office in reg.members("provincial", date(2025, 3, 31)):
        region = reg.successor_on(office.id, date(2025, 6, 15))
        assert office.id in region.absorbed
        assert office.valid_until == region.valid_from - timedelta(days=1), office.id
        assert (office.id in early) == (office.valid_until == date(2025, 3, 31))
    # every day of 2025 is covered by exactly one provincial-level unit per province
    for day in (date(2025, 3, 31), date(2025, 4, 1), date(2025, 5, 31), date(2025, 6, 1), date(2025, 6, 30), date(2025, 7, 1)):
        members = reg.members("provincial", day)
        provinces = [p for u in members for p in (u.absorbed or (u.id,))]
        assert len(provinces) == len(set(provinces)) == 63, day


def test_2025_provinces_absorb_all_63(reg: UnitRegistry) -> None:
    offices = reg.members("provincial", date(2025, 12, 1))
    absorbed = [p for u in offices for p in u.absorbed]
    assert len(absorbed) == len(set(absorbed)) == 63
    dak_lak = reg.get("bhxh_2025_dak_lak")
    assert dak_lak.name == "BHXH tỉnh Đắk Lắk"
    assert set(dak_lak.absorbed) == {"bhxh_tinh_dak_lak", "bhxh_tinh_phu_yen"}
    assert reg.get("bhxh_2025_ha_noi").name == "BHXH thành phố Hà Nội"


# ------------------------------------------------------------------------------------------------ dates


def test_yen_bai_city_office_pilot(reg: UnitRegistry) -> None:
    office = reg.get("bhxh_huyen_yen_bai")
    assert office.parent == "bhxh_tinh_yen_bai"
    assert office.exists_on(date(2019, 9, 30))
    assert not office.exists_on(date(2019, 10, 1))
    assert office in reg.members("district_bhxh", date(2019, 9, 30))
    assert office not in reg.members("district_bhxh", date(2019, 10, 1))
    assert reg.successor_on("bhxh_huyen_yen_bai", date(2019, 10, 1)).id == "bhxh_tinh_yen_bai"


def test_district_offices_everywhere_else_until_end_of_2019(reg: UnitRegistry) -> None:
    assert len(reg.members("district_bhxh", date(2019, 9, 30))) == 58
    assert len(reg.members("district_bhxh", date(2019, 10, 1))) == 56
    assert len(reg.members("district_bhxh", date(2019, 12, 31))) == 56
    assert reg.members("district_bhxh", date(2020, 1, 1)) == []
    assert reg.get("bhxh_huyen_bien_hoa").valid_until == date(2019, 9, 30)
    assert reg.get("bhxh_huyen_nam_dinh").name == "BHXH thành phố Nam Định"


def test_dak_lak_districts(reg: UnitRegistry) -> None:
    districts = reg.members("daklak_district", date(2018, 11, 30))
    assert len(districts) == 15
    assert districts[0].id == "daklak_huyen_buon_ma_thuot"
    assert reg.members("daklak_district", date(2025, 7, 1)) == []


# ------------------------------------------------------------------------------------------------ successors


def test_successor_of_dak_lak_provincial_office(reg: UnitRegistry) -> None:
    assert reg.successor_on("bhxh_tinh_dak_lak", date(2019, 11, 14)).id == "bhxh_tinh_dak_lak"
    assert reg.successor_on("bhxh_tinh_dak_lak", date(2025, 5, 1)).id == "bhxh_tinh_dak_lak"  # until 31/05/2025
    assert reg.successor_on("bhxh_tinh_dak_lak", date(2025, 6, 20)).id == "bhxh_kv_25"  # Đắk Lắk - Đắk Nông (391)
    # Đắk Nông went to region XXV with Đắk Lắk, then to the new tỉnh Lâm Đồng: nearest successor first
    assert reg.successor_on("bhxh_tinh_dak_nong", date(2026, 1, 1)).id == "bhxh_2025_lam_dong"
    assert reg.successor_on("bhxh_tinh_dak_lak", date(2026, 1, 1)).id == "bhxh_2025_dak_lak"
    assert reg.successor_on("bhxh_tinh_phu_yen", date(2026, 1, 1)).id == "bhxh_2025_dak_lak"


def test_dak_lak_district_has_no_successor_after_two_tier_reform(reg: UnitRegistry) -> None:
    assert reg.successor_on("daklak_huyen_krong_pac", date(2025, 6, 30)).id == "daklak_huyen_krong_pac"
    assert reg.successor_on("daklak_huyen_krong_pac", date(2025, 7, 1)) is None


def test_recipients_that_ceased(reg: UnitRegistry) -> None:
    # Vụ Kế hoạch và Đầu tư: no successor established -> flagged (None).
    assert reg.successor_on("vu_khdt", date(2025, 2, 28)).id == "vu_khdt"
    assert reg.successor_on("vu_khdt", date(2025, 11, 15)) is None
    # Sở LĐ-TB&XH Đắk Lắk -> Sở Nội vụ.
    assert reg.successor_on("daklak_so_ldtbxh", date(2025, 11, 30)).id == "daklak_so_noi_vu"
    # Vụ Pháp chế is renamed, not ceased.
    assert reg.successor_on("vu_pc", date(2025, 12, 25)).id == "vu_pc"


def test_successor_chain_across_three_steps(reg: UnitRegistry) -> None:
    # city office (2019) -> provincial office -> region (2025-04) -> 2025 provincial office
    assert reg.successor_on("bhxh_huyen_buon_ma_thuot", date(2026, 1, 1)).id == "bhxh_2025_dak_lak"


def test_successor_before_existence_is_none(reg: UnitRegistry) -> None:
    assert reg.successor_on("bhxh_2025_dak_lak", date(2019, 1, 1)) is None


# ------------------------------------------------------------------------------------------------ names


def test_names_over_time(reg: UnitRegistry) -> None:
    pc = reg.get("vu_pc")
    assert pc.name_on(date(2021, 12, 15)) == "Vụ Pháp chế"
    assert pc.name_on(date(2025, 2, 28)) == "Vụ Pháp chế"
    assert pc.name_on(date(2025, 3, 1)) == "Ban Pháp chế"
    assert pc.name_on(date(2030, 1, 1)) == "Ban Pháp chế"
    assert pc.name == "Ban Pháp chế"
    assert reg.get("vu_tccb").name_on(date(2025, 3, 1)) == "Ban Tổ chức cán bộ"
    assert reg.get("vu_tckt").name_on(date(2025, 3, 1)) == "Ban Tài chính - Kế toán"
    assert reg.get("vu_khdt").name == "Vụ Kế hoạch và Đầu tư"


def test_central_units_from_march_2025_are_the_14_of_391(reg: UnitRegistry) -> None:
    names = {u.name_on(date(2025, 3, 1)) for u in reg.members("central", date(2025, 3, 1))}
    assert len(names) == 14
    assert "Ban Pháp chế" in names
    assert "Vụ Kế hoạch và Đầu tư" not in names


@pytest.mark.parametrize(("abbr", "unit_id"), sorted(SEED001_ABBREVIATIONS.items()))
def test_by_abbreviation_for_seed_001(reg: UnitRegistry, abbr: str, unit_id: str) -> None:
    assert reg.by_abbreviation(abbr).id == unit_id
    assert reg.by_abbreviation(abbr, date(2021, 9, 28)).id == unit_id
    assert reg.by_abbreviation(abbr.lower()).id == unit_id


def test_seed_001_abbreviations_all_known() -> None:
    """Every abbreviation in the lead/cooperating columns of seed 001's table resolves to a unit."""
    table = _seed("001_").read_text(encoding="utf-8").split("NHIỆM VỤ CẢI CÁCH HÀNH CHÍNH GIAI ĐOẠN 2021-2030")[-1]
    cells = [c for c in re.split(r"\s*\|\s*|\n", table) if re.fullmatch(r"[-A-ZĐ ,;()a-zà-ỹ]*", c or "")]
    found = set()
    for cell in cells:
        for token in re.findall(r"(?<!\w)([A-ZĐ]{2,6})(?!\w)", cell):
            found.add(token)
    ignored = {"BHXH", "BHYT", "BHTN", "TTHC", "CCHC", "DWH", "RPA", "MOC", "STT", "BTHN", "TN", "BH", "LĐ"}
    reg = default_registry()
    unknown = sorted(t for t in found - ignored if reg.by_abbreviation(t) is None)
    assert unknown == []
    assert set(SEED001_ABBREVIATIONS) >= (found - ignored)


def test_by_abbreviation_respects_day(reg: UnitRegistry) -> None:
    assert reg.by_abbreviation("KHĐT", date(2019, 11, 14)).id == "vu_khdt"
    assert reg.by_abbreviation("khdt").id == "vu_khdt"
    assert reg.by_abbreviation("KHĐT", date(2025, 11, 14)) is None
    assert reg.by_abbreviation("NOPE") is None


@pytest.mark.parametrize(
    ("text", "unit_id"),
    [
        ("Vụ Pháp chế", "vu_pc"),
        ("vụ  pháp   CHẾ", "vu_pc"),
        ("Vu Phap che", "vu_pc"),
        ("Ban Pháp chế", "vu_pc"),
        ("Vụ Kế hoạch và Đầu tư", "vu_khdt"),
        ("Vụ Tổ chức cán bộ", "vu_tccb"),
        ("Vụ Tài chính Kế toán", "vu_tckt"),
        ("Trung tâm Dịch vụ hỗ trợ, chăm sóc khách hàng", "tt_cskh"),
        ("Trung tâm DVHT-CSKH", "tt_cskh"),
        ("Trung tâm Truyền thông", "tt_truyen_thong"),
        ("Sở LĐ-TB&XH", "daklak_so_ldtbxh"),
        ("Sở Lao động - Thương binh và Xã hội", "daklak_so_ldtbxh"),
        ("Sở Lao động, Thương binh và Xã hội", "daklak_so_ldtbxh"),
        ("Sở TT&TT", "daklak_so_tttt"),
        ("Sở Thông tin và Truyền thông", "daklak_so_tttt"),
        ("Sở KH&ĐT", "daklak_so_khdt"),
        ("Sở Tài chính", "daklak_so_tai_chinh"),
        ("Sở Y tế", "daklak_so_y_te"),
        ("UBND tỉnh Đắk Lắk", "ubnd_tinh_dak_lak"),
        ("Bộ Nội vụ", "bo_noi_vu"),
        ("Tổng Công ty Bưu điện Việt Nam", "vnpost"),
        ("BHXH tỉnh Yên Bái", "bhxh_tinh_yen_bai"),
        ("Bảo hiểm xã hội tỉnh Yên Bái", "bhxh_tinh_yen_bai"),
        ("BHXH thành phố Yên Bái", "bhxh_huyen_yen_bai"),
        ("UBND huyện Krông Pắc", "daklak_huyen_krong_pac"),
        ("TX. Buôn Hồ", "daklak_huyen_buon_ho"),
    ],
)
def test_find_by_name(reg: UnitRegistry, text: str, unit_id: str) -> None:
    unit = reg.find_by_name(text, date(2019, 11, 14))
    assert unit is not None and unit.id == unit_id


def test_find_by_name_uses_day_to_disambiguate(reg: UnitRegistry) -> None:
    assert reg.find_by_name("BHXH thành phố Hà Nội", date(2019, 11, 14)).id == "bhxh_tinh_ha_noi"
    assert reg.find_by_name("BHXH thành phố Hà Nội", date(2025, 12, 1)).id == "bhxh_2025_ha_noi"
    assert reg.find_by_name("BHXH tỉnh Đắk Lắk", date(2026, 1, 1)).id == "bhxh_2025_dak_lak"
    # A unit that no longer exists is still found by the name it bore, so the caller can follow successors.
    assert reg.find_by_name("Sở LĐ-TB&XH", date(2025, 11, 30)).id == "daklak_so_ldtbxh"


def test_find_by_name_refuses_generic_phrases(reg: UnitRegistry) -> None:
    assert reg.find_by_name("BHXH tỉnh") is None
    assert reg.find_by_name("UBND huyện") is None
    assert reg.find_by_name("") is None
    assert reg.find_by_name("Không có đơn vị này") is None


def test_normalize_name_expands_common_abbreviations() -> None:
    assert normalize_name("Sở LĐ-TB&XH") == normalize_name("Sở Lao động - Thương binh và Xã hội")
    assert normalize_name("Sở GD&ĐT") == "so giao duc va dao tao"
    assert normalize_name("Sở VH-TT&DL") == "so van hoa the thao va du lich"
    assert normalize_name("Sở KH&ĐT") == normalize_name("Sở Kế hoạch và Đầu tư")
    assert normalize_name("UBND TP. Buôn Ma Thuột") == "uy ban nhan dan thanh pho buon ma thuot"


# ------------------------------------------------------------------------------------------------ data quality


def test_every_unit_has_sources_contacts_and_a_valid_id(reg: UnitRegistry) -> None:
    for unit in reg.all():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", unit.id)
        assert unit.sources, unit.id
        assert unit.email and unit.chat == f"#{unit.id}", unit.id
    assert reg.get("bhxh_tinh_yen_bai").email == "bhxh_tinh_yen_bai@vss.example"


LEVEL_WORDS = ("tỉnh", "thành phố", "thị xã", "huyện", "khu vực", "quận", "xã")
OLD_TONE = re.compile(r"(?<![qQ])(?:[oO][àáảãạ]|[oO][èéẻẽẹ]|[uU][ỳýỷỹỵ])(?!\w)")


def name_problems(text: str) -> list[str]:
    """What is wrong with a unit name as people read it (an empty list if nothing).

    The rules catch the class of "BHXH thành phố Thành phố Hồ Chí Minh": a word or phrase repeated, an
    administrative level said twice, an abbreviation beside its own expansion; and the other ways a typed name
    goes wrong (spacing, Unicode form, old tone placement, a lower-case start, "TP." in an official name).
    """
    out = []
    if unicodedata.normalize("NFC", text) != text:
        out.append("not NFC")
    if text != text.strip() or "  " in text or "\t" in text or "\n" in text:
        out.append("stray whitespace")
    if re.search(r"(?i)\b(\w+(?:\s+\w+){0,2})\s+\1\b", text):
        out.append("a word or phrase repeated")
    folded = text.casefold()
    for level in LEVEL_WORDS:
        if len(re.findall(rf"(?<!\w){level}(?!\w)", folded)) > 1:
            out.append(f"the level '{level}' twice")
    if "BHXH" in text and "bảo hiểm xã hội" in folded:
        out.append("BHXH beside its own expansion")
    if re.search(r"\bTP\s*\.", text) or re.search(r"\bTX\s*\.", text):
        out.append("an abbreviated level (TP., TX.)")
    if re.search(r"(?<!^)(?<!\()\b(?:Thành phố|Tỉnh|Huyện|Thị xã)\b(?! Hồ Chí Minh)", text):
        out.append("a level word capitalised inside the name (only 'Thành phố Hồ Chí Minh' is)")
    if OLD_TONE.search(text):
        out.append("old tone placement (Hoà, Thuỷ; write Hòa, Thủy)")
    if "Đăk" in text:
        out.append("'Đăk' (the registry writes 'Đắk'; the seed's spelling goes in seed_name)")
    if text[:1] != text[:1].upper():
        out.append("starts in lower case")
    if text.count("(") != text.count(")"):
        out.append("unbalanced parentheses")
    return out


@pytest.mark.parametrize(
    "bad",
    ["BHXH thành phố Thành phố Hồ Chí Minh", "BHXH tỉnh tỉnh Yên Bái", "BHXH BHXH Hà Giang",
     "Bảo hiểm xã hội BHXH tỉnh Lào Cai", "BHXH  tỉnh Bắc Kạn", "BHXH tỉnh Hoà Bình", "BHXH TP. Hà Nội",
     "bhxh tỉnh Cà Mau", "UBND huyện Krông Pắc (Đắk Lắk", "BHXH khu vực Khu vực I", "Sở Tài chính tỉnh Tỉnh Đắk Lắk",
     "UBND huyện Đăk Mil", unicodedata.normalize("NFD", "BHXH tỉnh Yên Bái")],
)  # fmt: skip
def test_name_rules_catch_malformed_names(bad: str) -> None:
    assert name_problems(bad), bad


def test_no_unit_name_is_doubled_or_malformed(reg: UnitRegistry) -> None:
    """Every name people read (the names over time) passes the rules, and short names and aliases do too, save
    abbreviations; seed_name keeps the seed's spelling and is never displayed. Before the fix, two units read "BHXH thành phố Thành phố Hồ Chí Minh"."""
    found = {}
    for unit in reg.all():
        shown = [n.name for n in unit.names]
        for text in shown + [unit.short_name or unit.names[0].name] + list(unit.aliases):
            problems = name_problems(text)
            if text not in shown:  # a short name or alias may abbreviate ("TP. Buôn Ma Thuột"): find_by_name reads it
                problems = [p for p in problems if not p.startswith("an abbreviated")]
            if problems:
                found[(unit.id, text)] = problems
    assert found == {}
    assert reg.get("bhxh_tinh_ho_chi_minh").name == "Bảo hiểm xã hội Thành phố Hồ Chí Minh"
    assert reg.get("bhxh_2025_ho_chi_minh").name == "Bảo hiểm xã hội Thành phố Hồ Chí Minh"
    assert reg.find_by_name("BHXH TP. Hồ Chí Minh", date(2019, 11, 14)).id == "bhxh_tinh_ho_chi_minh"


def test_get_unknown_unit(reg: UnitRegistry) -> None:
    with pytest.raises(UnknownUnitError) as exc:
        reg.get("bhxh_tinh_atlantis")
    assert "bhxh_tinh_atlantis" in exc.value.message_vi
    assert "bhxh_tinh_atlantis" in exc.value.message_en
    assert "bhxh_tinh_atlantis" not in reg


# ------------------------------------------------------------------------------------------------ loader errors


def _unit(uid: str, **extra: object) -> dict:
    return {
        "id": uid,
        "group": "central",
        "names": [{"name": uid.upper(), "from": None, "until": None}],
        **extra,
    }


def _write(folder: Path, units: list[dict], name: str = "units.yaml") -> None:
    (folder / name).write_text(yaml.safe_dump({"units": units}, allow_unicode=True), encoding="utf-8")


def test_minimal_folder_loads(tmp_path: Path) -> None:
    _write(tmp_path, [_unit("vu_a", successors=["vu_b"], valid_until="2020-01-01"), _unit("vu_b")])
    reg = UnitRegistry.load(tmp_path)
    assert reg.successor_on("vu_a", date(2021, 1, 1)).id == "vu_b"
    assert reg.get("vu_a").email is None


def test_duplicate_id_is_rejected_naming_the_unit(tmp_path: Path) -> None:
    _write(tmp_path, [_unit("vu_dup")], "a.yaml")
    _write(tmp_path, [_unit("vu_dup")], "b.yaml")
    with pytest.raises(DataFileError) as exc:
        UnitRegistry.load(tmp_path)
    assert "vu_dup" in exc.value.message_vi and "vu_dup" in exc.value.message_en
    assert "b.yaml" in exc.value.message_en and "trùng" in exc.value.message_vi


def test_unknown_successor_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, [_unit("vu_x", successors=["vu_ghost"])])
    with pytest.raises(DataFileError) as exc:
        UnitRegistry.load(tmp_path)
    assert "vu_x" in exc.value.message_en and "vu_ghost" in exc.value.message_en
    assert "vu_x" in exc.value.message_vi and "không tồn tại" in exc.value.message_vi


def test_unknown_parent_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, [_unit("vu_x", parent="nobody")])
    with pytest.raises(DataFileError, match="vu_x"):
        UnitRegistry.load(tmp_path)


def test_until_before_from_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, [_unit("vu_x", valid_from="2025-03-01", valid_until="2025-02-28")])
    with pytest.raises(DataFileError) as exc:
        UnitRegistry.load(tmp_path)
    assert "vu_x" in exc.value.message_vi and "2025-02-28" in exc.value.message_en


def test_unknown_group_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, [{**_unit("vu_x"), "group": "galactic"}])
    with pytest.raises(DataFileError) as exc:
        UnitRegistry.load(tmp_path)
    assert "vu_x" in exc.value.message_en and "galactic" in exc.value.message_vi


def test_overlapping_names_are_rejected(tmp_path: Path) -> None:
    names = [{"name": "A", "from": None, "until": "2025-03-01"}, {"name": "B", "from": "2025-03-01"}]
    _write(tmp_path, [{**_unit("vu_x"), "names": names}])
    with pytest.raises(DataFileError, match="vu_x"):
        UnitRegistry.load(tmp_path)


def test_bad_yaml_and_contacts_for_unknown_unit(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("units: [ {id: vu_x", encoding="utf-8")
    with pytest.raises(DataFileError, match="broken.yaml"):
        UnitRegistry.load(tmp_path)
    (tmp_path / "broken.yaml").unlink()
    _write(tmp_path, [_unit("vu_x")])
    (tmp_path / "contacts.yaml").write_text("contacts:\n  vu_y: {email: y@example.org}\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="vu_y"):
        UnitRegistry.load(tmp_path)

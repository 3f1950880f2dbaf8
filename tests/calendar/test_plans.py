"""Plans as data: the importer reads the seed task tables; the kept YAML files are what it produces."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import yaml

from bhxh.calendar.plans.importer import OVERRIDES_FILE, REVIEW_FILE, run_import
from bhxh.calendar.plans.model import PLAN_IDS, PLANS_DIR, load_plans, timed_reports
from bhxh.calendar.plans.resolve import split_units
from bhxh.calendar.plans.text import segments
from bhxh.calendar.plans.timing import Timing, parse_timing
from bhxh.cli.plans import main

REPO = Path(__file__).resolve().parents[2]
SEEDS = Path(os.environ.get("BHXH_SEEDS_DIR", REPO.parent / "shared" / "seeds"))


@pytest.fixture
def seeds() -> Path:
    """The seed texts: $BHXH_SEEDS_DIR, else ../shared/seeds beside the repository. Missing is a failure that says
    where it looked, never a skip."""
    if not SEEDS.is_dir():
        pytest.fail(
            f"Không thấy văn bản nguồn (seeds) ở {SEEDS}: đặt BHXH_SEEDS_DIR. / The seed texts are not in {SEEDS}: set "
            "BHXH_SEEDS_DIR or put ../shared/seeds beside the clone.",
            pytrace=False,
        )
    return SEEDS

# Unit mentions that resolve to no registry unit, each settled (or left open) in review.yaml.
EXPECTED_UNRESOLVED = {
    # Not a unit of the registry: a Northern multi-line assessment centre (open in review.yaml).
    ("nq51_action_programme", "II.2"): ["Trung tâm Giám định và thanh toán đa tuyến khu vực Phía Bắc"],
    # Press and political organisations: cooperate, never report (settled in overrides.yaml).
    ("nq51_action_programme", "I.4.2"): ["Các cơ quan báo đài Trung ương và địa phương"],
    ("nq28_dak_lak", "I.1"): [
        "Tổ chức Đảng và cấp ủy cùng cấp",
        "MTTQVN",
        "tổ chức Công đoàn",
        "các tổ chức chính trị-xã hội",
    ],
    ("cchc_2021_2030", "chi_dao.1.4.1"): ["Các cơ quan thông tấn, báo chí Trung ương và địa phương"],
}
# Review items still open after the overrides: the seed leaves these cells empty or names a missing unit.
EXPECTED_OPEN = {
    ("nq51_action_programme", "II.2", "lead"),
    ("cchc_2021_2030", "tthc.2025.6.3", "timing"),
    ("cchc_2021_2030", "to_chuc_bo_may.1.1.1", "timing"),
    ("cchc_2021_2030", "chi_dao.1.3.3", "timing"),
    ("cchc_2021_2030", "chi_dao.1.4.2", "lead"),
}


@pytest.fixture(scope="module")
def plans():
    return load_plans()


@pytest.fixture(scope="module")
def review():
    return yaml.safe_load((PLANS_DIR / REVIEW_FILE).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------- text repair


def test_segments_glue_word_fragments_and_keep_cells_apart():
    lines = ["Ứ", "ng dụng công ng", "hệ thông tin", "Vụ T", "à", "i chính - Kế toán", "B", "H", "XH tỉnh"]
    assert segments(lines) == ["Ứng dụng công nghệ thông tin", "Vụ Tài chính - Kế toán", "BHXH tỉnh"]
    assert segments(["số 01/N", "Q", "-CP hàng năm", "Quý", "II", "/2019"]) == [
        "số 01/NQ-CP hàng năm",
        "Quý",
        "II/2019",
    ]
    # Two complete words on either side of a wrap stay apart (the parser decides by column).
    assert segments(["tránh thất", "thoát", "Ban", "  Thu"]) == ["tránh thất", "thoát", "Ban Thu"]
    assert segments(["đẩ", "y", "m", "ạ", "nh kết nối"]) == ["đẩy", "mạnh kết nối"]


def test_split_units_keeps_names_with_separators():
    assert split_units("Sở Tài chính, BHXH tỉnh và các địa phương") == [
        "Sở Tài chính",
        "BHXH tỉnh",
        "các địa phương",
    ]
    assert split_units("Các đơn vị liên quan thuộc BHXH Việt Nam; BHXH tỉnh, thành phố") == [
        "Các đơn vị liên quan thuộc BHXH Việt Nam",
        "BHXH tỉnh, thành phố",
    ]
    assert split_units("Sở Lao động - Thương binh và Xã hội") == ["Sở Lao động - Thương binh và Xã hội"]
    assert split_units("- TT -TCBH - BHXH tỉnh, thành phố") == ["TT", "TCBH", "BHXH tỉnh, thành phố"]
    assert split_units("PC (tổng hợp chung) BHXH tỉnh, thành phố") == ["PC", "BHXH tỉnh, thành phố"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Quý IV/2018", Timing(due=dt.date(2018, 12, 31))),
        ("Quý II/2019", Timing(due=dt.date(2019, 6, 30))),
        ("Năm 2021", Timing(due=dt.date(2021, 12, 31))),
        ("Tháng 11/2025", Timing(due=dt.date(2025, 11, 30))),
        ("Giai đoạn 2017-2020", Timing(due=dt.date(2020, 12, 31))),
        ("Hằng năm", Timing(recurrence="yearly")),
        ("Tháng 11 hằng năm", Timing(recurrence="yearly", due_month=11)),
        ("Hằng năm (định kỳ 6 tháng/lần)", Timing(recurrence="half-yearly")),
        ("Thường xuyên", Timing(recurrence="continuous")),
        # a start ("Thí điểm ... kể từ ngày 01/10/2019"), not a due date
        ("kể từ ngày 01/10/2019", Timing(starts=dt.date(2019, 10, 1))),
        ("Sau khi có văn bản quy định về cơ sở pháp lý", None),
        ("Tháng 13/2025", None),
        ("", None),
    ],
)
def test_parse_timing(text, expected):
    assert parse_timing(text) == expected


# ---------------------------------------------------------------------------------------------- kept plans


def test_every_plan_is_kept(plans):
    assert set(plans) == set(PLAN_IDS)


def test_nq51_counts_and_rows(plans):
    p = plans["nq51_action_programme"]
    # Counted by hand in seed 002, rows with a lead and a period: I: 1, 2, 3.1-3.4, 4.1-4.2, 5.1-5.7 (15);
    # II: 1-2 (2); III: 1-3 (3); IV: 1-6 (6); V: 1-3 (3); VI: 1-4 (4) = 33. Headings: I-VI and I.3, I.4, I.5 = 9.
    assert len(p.tasks) == 33
    assert len(p.items) == 42
    t = p.get("I.3.2")
    assert t.lead == "ban_csxh" and t.cooperating == ["group:related"]
    assert t.programme == "Chương trình hành động thực hiện Nghị quyết số 63/NQ-CP; 27/NQ-CP"
    assert t.period == t.timing_text == "Giai đoạn 2017-2020" and t.due == dt.date(2020, 12, 31)
    assert t.parent == "I.3" and p.get("I.3").kind == "group"
    t = p.get("I.3.4")
    assert t.lead == "van_phong" and t.due == dt.date(2017, 12, 31)
    assert t.title == "Đánh giá, sơ kết 5 năm thực hiện Nghị quyết số 21-NQ/TW của Bộ Chính trị"
    assert "vu_tdkt" in t.cooperating and "vu_pc" in t.cooperating
    t = p.get("I.5.5")
    assert t.lead == "vu_tckt" and t.cooperating == ["tt_cntt", "vu_pc", "group:provincial"]
    t = p.get("V.3")
    assert t.lead_text == "Vụ Thanh tra kiểm tra" and t.lead == "vu_ttkt"
    assert p.get("I.5.2").due == dt.date(2018, 12, 31)
    assert p.get("IV.3").leads() == ["group:central", "group:provincial"]


def test_nq28_counts_and_rows(plans):
    p = plans["nq28_dak_lak"]
    # Counted by hand in seed 003: I: 1-4, II: 1, III: 1-5, IV: 1-3 = 13 tasks under 4 headings.
    assert len(p.tasks) == 13
    assert len(p.items) == 17
    t = p.get("I.2")
    assert (t.lead, t.product, t.due) == ("daklak_so_ldtbxh", "Đề án", dt.date(2019, 6, 30))
    assert t.cooperating == ["bhxh_tinh_dak_lak", "group:related"]
    t = p.get("I.1")
    assert t.leads() == ["group:daklak_department", "group:daklak_district"]
    assert (t.product, t.timing_text, t.due) == ("Nhiệm vụ", "Quý IV/2018", dt.date(2018, 12, 31))
    t = p.get("III.4")
    assert t.product == "Văn bản phù hợp" and t.due == dt.date(2019, 9, 30)
    assert "daklak_so_khdt" in t.cooperating and "daklak_thue" in t.cooperating
    assert p.get("III.3").lead == "daklak_so_y_te"
    assert p.get("I.3").lead == "daklak_so_tttt" and p.get("I.3").recurrence == "yearly"
    assert p.get("IV.1").lead == "bhxh_tinh_dak_lak" and p.get("IV.1").due == dt.date(2018, 12, 31)
    assert p.get("I.4").lead == "daklak_dai_pttt"


def test_cchc_counts_and_rows(plans):
    p = plans["cchc_2021_2030"]
    # Counted by hand in seed 001 (lines "Hoạt động ..." and "Nhiệm vụ ..." of the table): 62 activities;
    # 64 tasks, of which 32 have activities (headings) and 32 are reported on themselves: 94.
    # 29 "Mục tiêu" rows plus one objective printed without its label: 30 objectives.
    assert len(p.tasks) == 94
    assert sum(1 for t in p.tasks if t.kind == "activity") == 62
    assert sum(1 for t in p.items if t.kind == "objective") == 30
    t = p.get("tai_chinh_cong.2025.3.1.8")
    assert t.title == "Báo cáo Thủ tướng Chính phủ tình hình thực hiện"
    assert (t.lead, t.product, t.recurrence, t.due_month) == ("vu_tckt", "Báo cáo", "yearly", 11)
    assert t.cooperating == ["group:provincial", "vnpost"]
    assert t.funding == "Chi phí quản lý BHXH, BHYT, BHTN"
    t = p.get("tthc.2025.2.1.2")
    assert t.leads() == ["ban_tst", "vu_tckt", "ban_csxh", "ban_csyt"]
    assert (
        p.get("tthc.2025.3.1").recurrence == "continuous" and p.get("tthc.2025.3.1").lead == "tt_truyen_thong"
    )
    assert p.get("to_chuc_bo_may.1.2.1").due == dt.date(2025, 11, 30)
    # Three sections print no "Đến năm ..." heading of their own: they belong to the whole 2021-2030 plan, not to
    # the 2030 heading of the area above them.
    by_area = {}
    for t in p.items:
        by_area.setdefault(t.id.split(".")[0], set()).add(t.horizon)
    assert by_area["to_chuc_bo_may"] == by_area["cong_vu"] == by_area["chi_dao"] == {None}
    assert by_area["tthc"] == by_area["tai_chinh_cong"] == by_area["chinh_phu_so"] == {"2025", "2030"}
    assert not any(".2030." in t.id or ".2025." in t.id for t in p.items if t.horizon is None)
    assert p.get("tthc.2025.5.1.1").due == dt.date(2021, 12, 31)
    assert p.get("chinh_phu_so.2025.5.1").recurrence == "half-yearly"
    assert p.get("chinh_phu_so.2030.2.1").title.startswith("100% công chức")
    assert p.get("tthc.2025.6.1.1").lead == "tt_cskh"
    # Settled by overrides.yaml.
    assert p.get("tthc.2025.5.1.2").product == "Quy trình số hóa hồ sơ, giấy tờ, kết quả giải quyết TTHC"
    assert p.get("chinh_phu_so.2030.1.1").due == dt.date(2025, 12, 31)


def test_org_restructuring_duties_and_milestones(plans):
    p = plans["org_restructuring_2019"]
    # Counted by hand in part B.II of seed 000: Vụ TCCB 4 bullets, Vụ Pháp chế 1 paragraph, Trung tâm CNTT 1,
    # Trung tâm Truyền thông 1, the central units 5 bullets, BHXH cấp tỉnh 6 bullets, plus 2 milestones = 20.
    assert len(p.tasks) == 20
    assert [t.lead for t in p.tasks_led_by("vu_tccb")] == ["vu_tccb"] * 4
    pilot, everywhere = p.get("B.II.6.2.1"), p.get("B.II.6.2.2")
    # "kể từ ngày 01/10/2019": from when the change applies, not a due date
    assert pilot.due is None and pilot.starts == dt.date(2019, 10, 1) and pilot.timing_text == "kể từ ngày 01/10/2019"
    assert pilot.leads() == ["bhxh_tinh_yen_bai", "bhxh_tinh_dong_nai"]
    assert everywhere.due is None and everywhere.starts == dt.date(2020, 1, 1) and everywhere.lead == "group:provincial"
    assert not any(t.due for t in p.tasks)  # 2596's part B.II dates no duty: the plan's report is the one timed task
    assert p.get("B.II.4.1").lead == "tt_truyen_thong"
    assert p.get("B.II.4.1").cooperating == ["bao_bhxh", "tap_chi_bhxh", "group:related"]
    assert p.get("B.II.5.4").cooperating == ["vu_tccb"]


def test_units_resolve_or_are_listed(plans):
    found = {(t.plan, t.id): t.unresolved for p in plans.values() for t in p.items if t.unresolved}
    assert found == EXPECTED_UNRESOLVED


def test_every_timing_parsed_or_reviewed(plans, review):
    reviewed = {(r["plan"], r["id"]) for r in review["items"] if r["field"] == "timing"}
    for p in plans.values():
        for t in p.tasks:
            if t.timing_text and parse_timing(t.timing_text) is None:
                assert (t.plan, t.id) in reviewed, t.id


def test_review_lists_only_what_stays_open(review):
    open_items = {(r["plan"], r["id"], r["field"]) for r in review["items"] if not r["settled"]}
    assert open_items == EXPECTED_OPEN
    assert review["open"] == len(EXPECTED_OPEN)
    assert all(r["resolution"] for r in review["items"] if r["settled"])


def test_loader_api(plans):
    p = plans["cchc_2021_2030"]
    assert all("vu_tckt" in t.leads() for t in p.tasks_led_by("vu_tckt"))
    assert {t.id for t in p.tasks_cooperated_by("vnpost")} >= {"tai_chinh_cong.2025.3.1.8"}
    reports = timed_reports()
    assert [(t.id, t.lead, t.due_month) for t in reports] == [
        ("tai_chinh_cong.2025.3.1.8", "vu_tckt", 11),
        ("tai_chinh_cong.2030.3.1.3", "vu_tckt", 11),
    ]


def test_cli_lists_tasks_as_json_lines(capsys, plans):
    assert main([]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == sum(len(p.tasks) for p in plans.values())
    keys = {
        "plan",
        "source",
        "id",
        "title",
        "lead",
        "cooperating",
        "product",
        "timing_text",
        "due",
        "recurrence",
    }
    assert keys <= set(rows[0])
    assert main(["--plan", "nope"]) == 2


# ---------------------------------------------------------------------------------------------- importer


def test_importer_is_idempotent_and_equals_kept_files(tmp_path, seeds):
    first, second = tmp_path / "a", tmp_path / "b"
    run_import(seeds, first)
    run_import(seeds, second)
    names = sorted(f.name for f in first.iterdir())
    assert names == sorted(f.name for f in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
        # The kept files are the importer's output with overrides.yaml applied: byte-identical.
        assert (first / name).read_bytes() == (PLANS_DIR / name).read_bytes(), name
    assert run_import(seeds, first) == []


def test_overrides_explain_every_difference_from_the_raw_import(tmp_path, seeds):
    empty = tmp_path / "none.yaml"
    empty.write_text("overrides: []\n", encoding="utf-8")
    run_import(seeds, tmp_path / "raw", overrides_file=empty)
    raw = load_plans(tmp_path / "raw")
    overrides = yaml.safe_load((PLANS_DIR / OVERRIDES_FILE).read_text(encoding="utf-8"))["overrides"]
    touched = {(o["plan"], o["id"], name) for o in overrides for name in (o.get("set") or {})}
    for plan_id, kept in load_plans().items():
        for t in kept.items:
            before = raw[plan_id].get(t.id).to_dict()
            for name, value in t.to_dict().items():
                if before[name] != value:
                    assert (plan_id, t.id, name) in touched, (plan_id, t.id, name)


def test_cli_import_reports_unchanged(tmp_path, capsys, seeds):
    run_import(seeds, tmp_path)
    assert main(["import", str(seeds), "--out", str(tmp_path)]) == 0
    assert "unchanged" in capsys.readouterr().out

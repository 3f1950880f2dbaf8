"""The report forms (calendar/data/schemas): every obligation has one that fits its reporters, the forms of the
new obligations say what the seeds ask, and a mistyped entry is refused rather than read half."""

from __future__ import annotations

from pathlib import Path

import pytest

from bhxh.calendar.catalogue import default_catalogue
from bhxh.calendar.forms import SCHEMA_DIR, load_form
from bhxh.calendar.units import default_registry
from bhxh.errors import DataFileError


def test_every_obligation_has_a_form_its_reporters_must_fill() -> None:
    reg = default_registry()
    for ob in default_catalogue():
        form = load_form(ob.schema_name)
        required = {g for i in form.indicators for g in i.required_for}
        groups = set(ob.reporters.groups) | {reg.get(u).group for u in ob.reporters.units}
        assert groups <= required, (ob.id, form.id, groups - required)


def test_every_form_file_loads_with_whole_names() -> None:
    for path in sorted(SCHEMA_DIR.glob("*.yaml")):
        form = load_form(path.stem)
        assert form.indicators, path.name
        for indicator in form.indicators:
            assert indicator.name.count("(") == indicator.name.count(")"), (path.name, indicator.code)
    # names with commas, which an unquoted YAML flow mapping cut short before
    assert load_form("nq51_indicators").indicators[5].name == "Tổng số thu BHXH, BHYT, BHTN"


def test_the_three_cchc_results_have_three_forms() -> None:
    cat = default_catalogue()
    forms = {cat.get(i).schema_name for i in ("cchc_results", "cchc_survey_results", "cchc_communication_results")}
    assert forms == {"cchc_indicators", "cchc_survey", "cchc_communication"}
    survey = {i.code: i for i in load_form("cchc_survey").indicators}
    assert survey["HAI_LONG_TTHC"].targets == ((2025, 90.0), (2030, 95.0))  # seed 001, part II 2.1


def test_cashless_form_counts_urban_beneficiaries_against_the_targets() -> None:
    form = load_form("cashless_payment")
    codes = {i.code: i for i in form.indicators}
    assert {"NGUOI_HUONG_DO_THI", "KHONG_TIEN_MAT_DO_THI"} <= set(codes)
    assert codes["TY_LE_DO_THI"].targets == ((2025, 60.0), (2030, 80.0))
    assert codes["TY_LE_DO_THI"].target_for(2026) == (2030, 80.0)
    assert {(r.left, r.right) for r in form.rules} >= {("KHONG_TIEN_MAT_DO_THI", "NGUOI_HUONG_DO_THI")}


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    text = (SCHEMA_DIR / "nq51_indicators.yaml").read_text(encoding="utf-8")
    (tmp_path / "broken.yaml").write_text(text.replace('name: "Tổng số thu BHXH, BHYT, BHTN"', "name: Tổng số thu BHXH, BHYT, BHTN"), encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        load_form("broken", tmp_path)
    assert "BHYT" in info.value.message_en and "ngoặc kép" in info.value.message_vi

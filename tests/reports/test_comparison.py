"""The comparison of a cycle with the targets of Resolution 28 and with the previous cycle (bhxh.reports.comparison):
every number shown equals the store's."""

from __future__ import annotations

import datetime as dt

import pytest

from bhxh.calendar.cycles import TZ
from bhxh.calendar.expected import plan_cycle
from bhxh.calendar.forms import get_form
from bhxh.reports.comparison import compare, previous_cycle_key
from bhxh.reports.consolidation import consolidate
from bhxh.store.engine import init_store, session_factory
from bhxh.store.models import StoredFile, Submission, ValidationResult

OB = "nq28_dak_lak_units"

# unit -> cycle -> (state, {indicator: actual})
DATA = {
    "daklak_so_khdt": {
        "2019": ("on_time", {"BHXH_LLLD": 12.0, "BHTN_LLLD": 10.0, "NHIEM_VU_HT": 4, "NHIEM_VU_GIAO": 6}),
        "2020": ("on_time", {"BHXH_LLLD": 12.5, "BHTN_LLLD": 10.4, "NHIEM_VU_HT": 5, "NHIEM_VU_GIAO": 6}),
    },
    "daklak_so_noi_vu": {
        "2019": ("late", {"BHXH_LLLD": 14.0, "BHTN_LLLD": 11.5, "NHIEM_VU_HT": 2, "NHIEM_VU_GIAO": 3}),
        "2020": ("late", {"BHXH_LLLD": 13.0, "BHTN_LLLD": 12.0, "NHIEM_VU_HT": 3, "NHIEM_VU_GIAO": 3}),
    },
    "daklak_so_tai_chinh": {  # reported last cycle only
        "2019": ("on_time", {"BHXH_LLLD": 9.0, "NHIEM_VU_HT": 1, "NHIEM_VU_GIAO": 2}),
        "2020": ("invalid", {}),
    },
    "daklak_dai_pttt": {  # new this cycle
        "2020": ("on_time", {"NHIEM_VU_HT": 2, "NHIEM_VU_GIAO": 2}),
    },
}


def seed_store(session, data=DATA, obligation=OB) -> None:
    """Submissions and validation results written straight into the store, as a cycle run leaves them."""
    n = 0
    for unit, cycles in data.items():
        for key, (state, values) in cycles.items():
            n += 1
            digest = f"{n:064d}"
            session.add(StoredFile(sha256=digest, size=1, content=b"x"))
            received = dt.datetime(int(key), 11, 20, 9, 0, tzinfo=TZ)
            sub = Submission(
                obligation_id=obligation,
                cycle_key=key,
                unit_id=unit,
                sha256=digest,
                original_name=f"{obligation}__{key}__{unit}.xlsx",
                size=1,
                received_at=received,
                status="rejected" if state == "invalid" else "accepted",
                late=state == "late",
                data={"rows": [{"code": c, "actual": v} for c, v in values.items()]}
                if state != "invalid"
                else None,
                errors=[{"code": "x", "message_vi": "Thiếu chỉ tiêu", "message_en": "Missing indicator"}]
                if state == "invalid"
                else None,
            )
            session.add(sub)
            session.flush()
            session.add(
                ValidationResult(
                    obligation_id=obligation,
                    cycle_key=key,
                    unit_id=unit,
                    submission_id=sub.id,
                    state=state,
                    errors=sub.errors,
                    checked_at=received,
                )
            )
    session.flush()


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    with maker() as session, session.begin():
        seed_store(session)
    return maker


@pytest.fixture
def result(store):
    with store() as session:
        cons = consolidate(session, plan_cycle(OB, "2020"))
        return cons, compare(session, cons)


def test_previous_cycle_key():
    assert previous_cycle_key(["2018", "2019", "2020"], "2020") == "2019"
    assert previous_cycle_key(["2018", "2019", "2020"], "2018") is None


def test_targets_are_the_forms(result):
    cons, comp = result
    form = get_form("nq28_indicators")
    assert comp.previous_cycle_key == "2019"
    assert comp.target_year == 2020  # the 2020 cycle's data ends on 14/10/2020 -> the 2021 milestone
    info = {i.code: i for i in comp.indicators}
    assert info["BHXH_LLLD"].target == 13.0 and info["BHXH_LLLD"].target_year == 2021
    assert info["BHTN_LLLD"].target == 11.0
    assert info["NHIEM_VU_HT"].target is None  # counts have no target
    for ind in form.indicators:
        expected = ind.target_for(2020)
        assert (info[ind.code].target_year, info[ind.code].target) == (expected if expected else (None, None))


def test_unit_values_and_previous_equal_the_store(result):
    _cons, comp = result
    units = {u.unit_id: u for u in comp.units}
    khdt = units["daklak_so_khdt"].cells["BHXH_LLLD"]
    assert (khdt.value, khdt.previous, khdt.target) == (12.5, 12.0, 13.0)
    assert khdt.gap == pytest.approx(-0.5)
    assert khdt.change == pytest.approx(0.5)
    nv = units["daklak_so_noi_vu"].cells["BHTN_LLLD"]
    assert (nv.value, nv.previous) == (12.0, 11.5)
    assert nv.gap == pytest.approx(1.0)
    assert units["daklak_so_noi_vu"].previous_state == "late"
    # invalid now, valid last cycle: no value, previous kept
    tc = units["daklak_so_tai_chinh"]
    assert (
        tc.state == "invalid"
        and tc.cells["BHXH_LLLD"].value is None
        and tc.cells["BHXH_LLLD"].previous == 9.0
    )
    assert tc.cells["BHXH_LLLD"].change is None
    # new unit: no previous
    assert units["daklak_dai_pttt"].cells["NHIEM_VU_HT"].previous is None
    assert units["daklak_dai_pttt"].previous_state is None


def test_totals_and_rates(result):
    cons, comp = result
    # totals: percent = mean of valid units, counts = sums; previous computed the same way over 2019
    assert comp.totals["BHXH_LLLD"].value == pytest.approx((12.5 + 13.0) / 2)
    assert comp.totals["BHXH_LLLD"].previous == pytest.approx((12.0 + 14.0 + 9.0) / 3)
    assert comp.totals["NHIEM_VU_HT"].value == 5 + 3 + 2
    assert comp.totals["NHIEM_VU_HT"].previous == 4 + 2 + 1
    assert comp.reporting_rate == cons.reporting_rate == pytest.approx(100 * 3 / 22)
    assert comp.on_time_rate == cons.on_time_rate == pytest.approx(100 * 2 / 22)
    # the previous cycle's rates count only the units with a validation result there
    assert comp.previous_reporting_rate == pytest.approx(100.0)
    data = comp.as_dict()
    assert data["totals"]["BHXH_LLLD"]["gap"] == pytest.approx((12.5 + 13.0) / 2 - 13.0)


def test_fallback_on_accepted_submission_without_validation(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    init_store(url)
    maker = session_factory(url)
    with maker() as session, session.begin():
        seed_store(session, {"daklak_so_khdt": {"2020": ("on_time", {"BHXH_LLLD": 12.5})}})
        session.add(StoredFile(sha256="f" * 64, size=1, content=b"y"))
        session.add(
            Submission(
                obligation_id=OB,
                cycle_key="2019",
                unit_id="daklak_so_khdt",
                sha256="f" * 64,
                original_name="a.xlsx",
                size=1,
                received_at=dt.datetime(2019, 11, 1, tzinfo=TZ),
                status="accepted",
                late=False,
                data={"rows": [{"code": "BHXH_LLLD", "actual": 11.0}]},
            )
        )
    with maker() as session:
        comp = compare(session, consolidate(session, plan_cycle(OB, "2020")))
    cell = next(u for u in comp.units if u.unit_id == "daklak_so_khdt").cells["BHXH_LLLD"]
    assert cell.previous == 11.0
    assert comp.previous_reporting_rate is None  # unknown without the previous cycle's validation results

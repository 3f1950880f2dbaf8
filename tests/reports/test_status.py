"""The status board's matrix (bhxh.reports.status) on a small scripted store: states, rates and link targets."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from bhxh.calendar.catalogue import default_catalogue
from bhxh.calendar.cycles import TZ
from bhxh.calendar.expected import plan_cycle
from bhxh.calendar.forms import file_name, get_form
from bhxh.calendar.units import default_registry
from bhxh.cli.sample import sample_values
from bhxh.intake.forms_xlsx import form_rows, write_report_xlsx
from bhxh.intake.submission import ingest
from bhxh.reports.consolidation import completeness
from bhxh.reports.status import STATE_VI, status_matrix
from bhxh.steps.cycle import validate_unit
from bhxh.store.engine import init_store, session_factory
from bhxh_bench.hostile_files import fill_tasks

OB = "nq51_action_programme"


def _file(tmp_path, unit, key, *, bad: bool = False, period: str | None = None) -> tuple[bytes, str]:
    form = get_form("nq51_indicators")
    values = sample_values(random.Random(unit.id), unit.group)
    rows = form_rows(form, values)
    if bad:
        for row in rows:
            if row[0] == "NHIEM_VU_HT":
                row[4] = -2
    name = file_name(OB, key, unit.id)
    path = write_report_xlsx(tmp_path / f"{key}_{bad}_{name}", form, {"unit": unit.id, "obligation": OB, "period": period or key}, rows, unit_name=unit.name)
    fill_tasks(path, unit.id, key)  # a plan-based report carries its task sheets (issue 18)
    return path.read_bytes(), name


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("status")
    url = init_store(f"sqlite:///{tmp / 'store.sqlite'}")
    maker = session_factory(url)
    plan19 = plan_cycle(OB, "2019")
    plan20 = plan_cycle(OB, "2020")
    u = plan19.units
    due19 = plan19.cycle.due_at
    script = {
        "on_time": u[0], "late": u[1], "invalid": u[2], "fixed_late": u[3], "missing": u[4], "checked": u[5],
    }
    with maker() as s, s.begin():
        def put(unit, key, when, bad=False):
            content, name = _file(tmp, unit, key, bad=bad)
            return ingest(s, content, name, when)

        ids = {
            "on_time": put(u[0], "2019", due19 - dt.timedelta(days=2)).submission_id,
            "late": put(u[1], "2019", due19 + dt.timedelta(hours=5)).submission_id,
            "invalid": put(u[2], "2019", due19 - dt.timedelta(days=1), bad=True).submission_id,
        }
        put(u[3], "2019", due19 - dt.timedelta(days=4), bad=True)
        ids["fixed_late"] = put(u[3], "2019", due19 + dt.timedelta(days=1)).submission_id
        ids["checked"] = put(u[5], "2019", due19 - dt.timedelta(days=3), bad=True).submission_id
        # the unit checked by the cycle run: its validation result wins over the raw submissions
        validate_unit(s, plan19, u[5].id)
        # one unit sends the next cycle's report early
        ids["early_2020"] = put(plan20.units[0], "2020", due19 + dt.timedelta(days=30)).submission_id
    return {"maker": maker, "ids": ids, "units": script, "plan19": plan19, "plan20": plan20, "tmp": tmp}


def _matrix(store, until=dt.date(2019, 11, 20), **kw):
    with store["maker"]() as s:
        return status_matrix(s, OB, until=until, registry=default_registry(), catalogue=default_catalogue(), **kw)


def test_columns_are_the_started_cycles(store):
    m = _matrix(store)
    assert [c.key for c in m.columns] == ["2017", "2018", "2019", "2020"]
    assert [c.key for c in _matrix(store, limit=2).columns] == ["2019", "2020"]
    assert m.dag_id == "bao_cao_nq51_action_programme"


def test_states_from_submissions_and_results(store):
    m = _matrix(store)
    units, ids = store["units"], store["ids"]
    expect = {
        "on_time": ("on_time", False), "late": ("late", False), "invalid": ("invalid", False),
        "fixed_late": ("late", False), "missing": ("missing", False), "checked": ("invalid", True),
    }
    for label, (state, checked) in expect.items():
        cell = m.cell(units[label].id, "2019")
        assert (cell.state, cell.checked) == (state, checked), label
        assert cell.state_vi == STATE_VI[state]
    for label in ("on_time", "late", "invalid", "fixed_late", "checked"):
        assert m.cell(units[label].id, "2019").submission_id == ids[label], label
    assert m.cell(units["missing"].id, "2019").submission_id is None
    # before the 2020 deadline: nothing received is "not yet due", an early valid report is on time
    first20 = store["plan20"].units[0]
    assert m.cell(first20.id, "2020").state == "on_time"
    assert m.cell(first20.id, "2020").submission_id == ids["early_2020"]
    assert m.cell(store["plan20"].units[1].id, "2020").state == "not_yet_due"
    assert m.cell(units["missing"].id, "2018").state == "missing"


def test_not_yet_due_turns_missing_after_the_deadline(store):
    due19 = store["plan19"].cycle
    unit = store["units"]["missing"].id
    on_last_day = _matrix(store, until=due19.effective_last_day)
    assert on_last_day.cell(unit, "2019").state == "not_yet_due"
    assert _matrix(store, until=due19.effective_last_day + dt.timedelta(days=1)).cell(unit, "2019").state == "missing"
    now = dt.datetime.combine(due19.effective_last_day, dt.time(23, 59), TZ)
    assert _matrix(store, until=due19.effective_last_day, now=now).cell(unit, "2019").state == "not_yet_due"


def test_rates_and_counts(store):
    col = _matrix(store).column("2019")
    expected = len(store["plan19"].units)
    assert col.expected == expected
    assert col.counts == {"on_time": 1, "late": 2, "invalid": 2, "missing": expected - 5, "not_yet_due": 0}
    assert sum(col.counts.values()) == expected
    assert col.checked == 1
    assert col.reporting_rate == pytest.approx(100.0 * 3 / expected)
    assert col.on_time_rate == pytest.approx(100.0 / expected)
    col20 = _matrix(store).column("2020")
    assert col20.counts["on_time"] == 1 and col20.counts["not_yet_due"] == col20.expected - 1


def test_link_targets_follow_the_dag_mapping(store):
    m = _matrix(store)
    for key, plan in (("2019", store["plan19"]), ("2020", store["plan20"])):
        for index, unit in enumerate(plan.units):
            cell = m.cell(unit.id, key)
            assert (cell.map_index, cell.dag_id, cell.cycle_key) == (index, "bao_cao_nq51_action_programme", key)
            assert cell.unit_name == unit.name


def test_rows_cover_every_expected_unit_once(store):
    m = _matrix(store)
    ids = [r.unit_id for r in m.rows]
    assert len(ids) == len(set(ids))
    expected = set()
    for col in m.columns:
        expected |= {u.id for u in plan_cycle(OB, col.key).units}
        assert sum(1 for r in m.rows if r.cells[col.key] is not None) == col.expected
    assert set(ids) == expected


def test_counts_equal_completeness_once_every_unit_is_checked(tmp_path, store):
    url = init_store(f"sqlite:///{tmp_path / 'checked.sqlite'}")
    maker = session_factory(url)
    plan = store["plan19"]
    due = plan.cycle.due_at
    with maker() as s, s.begin():
        for i, unit in enumerate(plan.units[:12]):
            content, name = _file(tmp_path, unit, "2019", bad=i % 4 == 0)
            ingest(s, content, name, due + dt.timedelta(hours=i - 6))
        for unit in plan.units:
            validate_unit(s, plan, unit.id)
    with maker() as s:
        m = status_matrix(s, OB, until=dt.date(2020, 1, 1), registry=default_registry(), catalogue=default_catalogue())
        state = completeness(s, plan)
    col = m.column("2019")
    assert col.checked == col.expected == state["expected"]
    assert {k: v for k, v in col.counts.items() if k != "not_yet_due"} == state["counts"]
    assert col.counts["not_yet_due"] == 0

"""Property-based tests of the intake parsers and validators: no input makes them raise (parse_number may
raise ValueError, and only that); every other outcome is a list of problems."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bhxh.calendar.forms import file_name, get_form
from bhxh.intake.forms_xlsx import form_rows, write_report_csv, write_report_xlsx
from bhxh.intake.numbers import parse_number, parse_numbers
from bhxh.intake.problems import Problem
from bhxh.intake.reading import read_report
from bhxh.intake.submission import check_content
from bhxh_bench.hostile_files import fill_tasks

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
OB, PERIOD, UNIT = "nq51_action_programme", "2019", "bhxh_tinh_yen_bai"
FORM = get_form("nq51_indicators")
VALUES = {"BHXH_BB": 1000, "BHXH_TN": 100, "BHTN": 900, "BHYT": 5000, "BHYT_BAO_PHU": 90.5, "TONG_THU": 1234.5,
          "CHAM_DONG": 12, "GIAO_DICH_DT": 99, "NHIEM_VU_HT": 5, "NHIEM_VU_GIAO": 8}

cell_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**400), max_value=10**400), st.floats(),
    st.text(max_size=30), st.text(alphabet="0123456789.,+- %\u00a0", max_size=20), st.dates(), st.binary(max_size=8),
    st.decimals(allow_nan=True),
)


@FAST
@given(cell_values)
def test_parse_number_raises_only_value_error(value):
    try:
        result = parse_number(value)
    except ValueError:
        return
    assert result is None or (isinstance(result, float) and math.isfinite(result))


@FAST
@given(st.lists(cell_values, max_size=20), st.integers(min_value=0, max_value=3))
def test_parse_numbers_agrees_with_parse_number(values, repeat):
    values = values * (1 + repeat * 30)  # long columns take the vectorised path, short ones the loop
    parsed, bad = parse_numbers(pd.Series(values, dtype=object))
    assert len(parsed) == len(values) == len(bad)
    for value, number, is_bad in zip(values, parsed, bad, strict=True):
        try:
            expected = parse_number(value)
        except ValueError:
            assert is_bad, value
            continue
        assert not is_bad, value
        assert (expected is None and math.isnan(number)) or number == expected, (value, number, expected)


@FAST
@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_vietnamese_grouping_round_trips(whole, cents):
    grouped = f"{whole:,}".replace(",", ".")
    assert parse_number(grouped) == whole
    assert parse_number(f"{grouped},{cents:02d}") == float(f"{whole}.{cents:02d}")


def _check(content: bytes, name: str, *, raw: bool = False) -> list[Problem]:
    if raw:
        assert isinstance(read_report(content, name, None).problems, list)
    _parsed, problems, _cycle = check_content(content, name)
    assert all(isinstance(p, Problem) and p.code and p.message_vi and p.message_en for p in problems)
    return problems


@FAST
@given(st.binary(max_size=2048), st.sampled_from([".xlsx", ".csv", ".pdf", ""]))
def test_arbitrary_bytes_never_raise(content, suffix):
    problems = _check(content, f"{OB}__{PERIOD}__{UNIT}{suffix}", raw=True)
    assert problems  # random bytes are never a valid report


@FAST
@given(st.binary(min_size=2, max_size=2048))
def test_arbitrary_bytes_with_utf16_and_ole2_headers(tail):
    for head in (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", bytes.fromhex("d0cf11e0a1b11ae1"), b"PK\x03\x04"):
        _check(head + tail, file_name(OB, PERIOD, UNIT, ".csv"))
        _check(head + tail, file_name(OB, PERIOD, UNIT))


def _valid_files(tmp: Path) -> dict[str, bytes]:
    meta = {"unit": UNIT, "obligation": OB, "period": PERIOD}
    xlsx = fill_tasks(write_report_xlsx(tmp / file_name(OB, PERIOD, UNIT), FORM, meta, form_rows(FORM, VALUES)))
    csv = write_report_csv(tmp / file_name(OB, PERIOD, UNIT, ".csv"), FORM, meta, form_rows(FORM, VALUES))
    return {xlsx.name: xlsx.read_bytes(), csv.name: csv.read_bytes()}


def test_valid_files_are_accepted(tmp_path):
    for name, content in _valid_files(tmp_path).items():
        assert _check(content, name) == [], name


mutations = st.lists(
    st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate"]), st.integers(min_value=0), st.binary(min_size=1, max_size=4)),
    min_size=1, max_size=4,
)


def _mutate(content: bytes, ops) -> bytes:
    data = bytearray(content)
    for op, pos, blob in ops:
        if not data:
            break
        i = pos % len(data)
        if op == "flip":
            data[i] ^= blob[0] or 1
        elif op == "insert":
            data[i:i] = blob
        elif op == "delete":
            del data[i : i + len(blob)]
        else:
            del data[i:]
    return bytes(data)


@settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=mutations, which=st.sampled_from([0, 1]))
def test_mutated_valid_files_never_raise(tmp_path_factory, ops, which):
    files = _VALID.get("files") or _VALID.setdefault("files", _valid_files(tmp_path_factory.mktemp("valid")))
    name = sorted(files)[which]
    _check(_mutate(files[name], ops), name)


_VALID: dict = {}


csv_cells = st.one_of(st.text(max_size=12), st.sampled_from(["=1+1", "+84", "-3", "@x", "1.234,5", "12,5%", "", "abc", "1e9", "NaN", "inf"]))


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(csv_cells, min_size=0, max_size=8), max_size=12), st.sampled_from([";", ",", "\t"]))
def test_csv_tables_of_arbitrary_cells_never_raise(rows, sep):
    header = sep.join(c.header for c in FORM.columns)
    text = f"# Mã đơn vị: {UNIT}\n# Mã báo cáo: {OB}\n# Kỳ báo cáo: {PERIOD}\n{header}\n" + "\n".join(sep.join(r) for r in rows)
    _check(text.encode("utf-8-sig" if len(rows) % 2 else "utf-16"), file_name(OB, PERIOD, UNIT, ".csv"))

"""Property tests that mutate good workbooks at the XML level, as no spreadsheet program would write them: the
declared dimension, cells far away, shared strings (indices and texts), styles and number formats, merged
ranges. Whatever the mutation, the intake answers with bilingual problems (never an exception, never more than
the capped list); a mutation that changes nothing a reader sees (a false dimension, a far empty cell) leaves a
good report accepted with the same values."""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bhxh.intake.limits import MAX_PROBLEMS
from bhxh.intake.submission import check_submission
from bhxh_bench.hostile_files import DATA_PART, good_report, name_of, rezip, to_shared_strings

SETTINGS = settings(max_examples=80, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
NAME = name_of()


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> dict[str, bytes]:
    inline = good_report(tmp_path_factory.mktemp("base")).read_bytes()
    return {"inline": inline, "shared": to_shared_strings(inline)}


def _xml_text(text: str) -> str:
    legal = "".join(ch for ch in text if ch in "\t\n\r" or (" " <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd"))
    return escape(legal)


def _letters(col: int) -> str:
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


texts = st.text(max_size=40)
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-(10**30), 10**30).map(str),
                    st.sampled_from(["1e400", "-1e400", "NaN", "inf", "", " 12 ", "0x10", "1_000", "9" * 400]))
cell_values = st.one_of(
    st.tuples(st.just("n"), numbers),
    st.tuples(st.just("inlineStr"), texts),
    st.tuples(st.just("s"), st.integers(-3, 400_000).map(str)),
    st.tuples(st.sampled_from(["b", "e", "str", "d"]), texts),
    st.tuples(st.just("formula"), texts),
    st.tuples(st.just("empty"), st.just("")),
)


def _cell(ref: str, kind: str, value: str, style: int | None = None) -> str:
    s = f' s="{style}"' if style is not None else ""
    if kind == "empty":
        return f'<c r="{ref}"{s}/>'
    if kind == "inlineStr":
        return f'<c r="{ref}"{s} t="inlineStr"><is><t>{_xml_text(value)}</t></is></c>'
    if kind == "formula":
        return f'<c r="{ref}"{s}><f>{_xml_text(value)}</f><v>1</v></c>'
    t = "" if kind == "n" else f' t="{kind}"'
    return f'<c r="{ref}"{s}{t}><v>{_xml_text(value)}</v></c>'


mutations = st.lists(st.one_of(
    st.tuples(st.just("dimension"), st.text(alphabet="ABCDXFZ0123456789:$ ", max_size=20)),
    st.tuples(st.just("far_cell"), st.integers(12, 1_048_576), st.integers(1, 16_384), cell_values, st.none() | st.integers(0, 70_000)),
    st.tuples(st.just("cell_in_table"), st.integers(2, 11), st.integers(1, 8), cell_values, st.none() | st.integers(-1, 70_000)),
    st.tuples(st.just("shared_text"), st.integers(0, 60), texts),
    st.tuples(st.just("shared_drop"), st.integers(0, 60)),
    st.tuples(st.just("number_format"), st.text(alphabet='0#.,%"\\[]_*@;EeYMDhms ', max_size=20), st.integers(0, 3)),
    st.tuples(st.just("merge"), st.integers(1, 60), st.integers(1, 60), st.integers(1, 8)),
), min_size=1, max_size=4)


def _mutate(base: bytes, ops) -> bytes:
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        sheet = z.read(DATA_PART).decode()
        shared = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else None
        styles = z.read("xl/styles.xml").decode()
    extra_rows, merges = [], []
    for op in ops:
        if op[0] == "dimension":
            sheet = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{escape(op[1], {chr(34): "&quot;"})}"/>', sheet)
        elif op[0] == "far_cell":
            _, row, col, (kind, value), style = op
            extra_rows.append(f'<row r="{row}">{_cell(f"{_letters(col)}{row}", kind, value, style)}</row>')
        elif op[0] == "cell_in_table":
            _, row, col, (kind, value), style = op
            ref = f"{_letters(col)}{row}"
            new = _cell(ref, kind, value, style)
            pattern = rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)'
            sheet = re.sub(pattern, new, sheet, count=1) if re.search(pattern, sheet) else sheet.replace(f'<row r="{row}">', f'<row r="{row}">{new}', 1)
        elif op[0] == "shared_text" and shared:
            items = re.findall(r"<si>.*?</si>", shared, flags=re.S)
            if items:
                i = op[1] % len(items)
                shared = shared.replace(items[i], f'<si><t xml:space="preserve">{_xml_text(op[2])}</t></si>', 1)
        elif op[0] == "shared_drop" and shared:
            items = re.findall(r"<si>.*?</si>", shared, flags=re.S)
            if items:
                shared = shared.replace(items[op[1] % len(items)], "", 1)
        elif op[0] == "number_format":
            code = escape(op[1], {'"': "&quot;"})
            styles = re.sub(r"<numFmts[^>]*>.*?</numFmts>|<numFmts[^>]*/>", "", styles, flags=re.S)
            styles = styles.replace("<fonts", f'<numFmts count="1"><numFmt numFmtId="164" formatCode="{code}"/></numFmts><fonts', 1)
            xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, flags=re.S)
            if xfs:
                entries = re.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", xfs[1], flags=re.S)
                if entries:
                    target = entries[op[2] % len(entries)]
                    changed = re.sub(r'numFmtId="\d+"', 'numFmtId="164"', target) if "numFmtId" in target else target.replace("<xf ", '<xf numFmtId="164" ', 1)
                    styles = styles.replace(target, changed, 1)
        elif op[0] == "merge":
            _, a, b, width = op
            merges.append(f'<mergeCell ref="A{min(a, b)}:{_letters(width)}{max(a, b)}"/>')
    sheet = sheet.replace("</sheetData>", "".join(extra_rows) + "</sheetData>", 1)
    if merges:
        sheet = sheet.replace("</sheetData>", f'</sheetData><mergeCells count="{len(merges)}">{"".join(merges)}</mergeCells>', 1)
    replace = {DATA_PART: sheet.encode(), "xl/styles.xml": styles.encode()}
    if shared is not None:
        replace["xl/sharedStrings.xml"] = shared.encode()
    return rezip(base, replace)


def _frame_values(content: bytes) -> list[tuple]:
    parsed, problems, _cycle, _filed = check_submission(content, NAME)
    assert problems == [], [p.message_en for p in problems]
    return [tuple(r) for r in parsed.frame[["code", "actual", "measure"]].itertuples(index=False)]


def test_shared_strings_and_inline_strings_read_the_same(bases):
    assert _frame_values(bases["shared"]) == _frame_values(bases["inline"])


@SETTINGS
@given(ops=mutations, which=st.sampled_from(["inline", "shared"]))
def test_any_xml_mutation_gets_a_bilingual_answer(bases, ops, which):
    parsed, problems, _cycle, _filed = check_submission(_mutate(bases[which], ops), NAME)
    assert len(problems) <= MAX_PROBLEMS + 1 and parsed.problem_count >= len(problems)
    for p in problems:
        assert p.code and p.message_vi and p.message_en and p.message_vi != p.message_en
        assert "\n" not in p.message_vi + p.message_en


@SETTINGS
@given(ops=st.lists(st.one_of(
    st.tuples(st.just("dimension"), st.text(alphabet="ABCDXFZ0123456789:$", max_size=20)),
    st.tuples(st.just("far_cell"), st.integers(12, 1_048_576), st.integers(1, 16_384), st.just(("empty", "")), st.none() | st.integers(0, 1)),
), min_size=1, max_size=5), which=st.sampled_from(["inline", "shared"]))
def test_what_a_reader_cannot_see_changes_nothing(bases, ops, which):
    """A false dimension and far empty cells: the same report, accepted, the same values."""
    assert _frame_values(_mutate(bases[which], ops)) == _frame_values(bases["inline"])


@SETTINGS
@given(row=st.integers(12, 1_048_576), col=st.integers(27, 16_384), value=st.integers(1, 10**6).map(str))
def test_a_far_cell_with_data_is_named(bases, row, col, value):
    parsed, problems, _cycle, _filed = check_submission(_mutate(bases["shared"], [("far_cell", row, col, ("n", value), None)]), NAME)
    assert [p.code for p in problems] == ["outside_table"]
    assert f"{_letters(col)}{row}" in problems[0].message_en

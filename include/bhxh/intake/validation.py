"""Validating a parsed report ("kiểm tra báo cáo") against its form and cycle: metadata, the form's schema
(pandas + pandera), cross-field rules.

Validation is vectorised over the whole table; Python loops only run over the rows that fail, to write their
messages. A table on which a few array checks find nothing skips pandera and the per-check pandas calls
(`_clean_table`); as soon as anything might be wrong, the full checks run and say what.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from bhxh.calendar.cycles import Cycle
from bhxh.calendar.forms import FILENAME_RE, META_LABELS, META_SHEET, ReportForm
from bhxh.intake.limits import thousands_vi
from bhxh.intake.plausibility import ceiling_for
from bhxh.intake.problems import Problem, problem, short
from bhxh.intake.reading import ParsedReport, form_info


# -- validation -----------------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _pandera_schema(form: ReportForm) -> pa.DataFrameSchema:
    """Types, required cells, allowed codes and ranges of a form's table (uniqueness is checked apart, to tell a
    repeated row from a code used twice with different values)."""
    return pa.DataFrameSchema(
        {
            "code": pa.Column(object, pa.Check.isin(form.indicator_codes), nullable=False, coerce=False),
            "actual": pa.Column(float, pa.Check.ge(0), nullable=True),
            "plan": pa.Column(float, pa.Check.ge(0), nullable=True),
        },
        strict=False,
    )


def validate_report(
    parsed: ParsedReport,
    form: ReportForm,
    *,
    obligation_id: str | None = None,
    cycle: Cycle | None = None,
    unit_group: str | None = None,
    unit_exists: bool = True,
    filename: str | None = None,
) -> list[Problem]:
    """Every problem with a parsed report: metadata, the form's schema, cross-field rules, the cycle."""
    problems = list(parsed.problems)
    meta = parsed.meta
    meta_sheet = META_SHEET if parsed.kind != "csv" else None
    name_says_other = False
    for label, key in META_LABELS.items():
        if not meta.get(key) and parsed.kind is not None and not unreadable(parsed):
            where = f"sheet '{META_SHEET}'" if parsed.kind == "xlsx" else "đầu tệp CSV ('# " + label + ": ...')"
            where_en = f"sheet '{META_SHEET}'" if parsed.kind == "xlsx" else "the top of the CSV file ('# " + label + ": ...')"
            problems.append(problem("missing_meta", f"Thiếu '{label}'. Hãy ghi '{label}' vào {where}.", f"'{label}' is missing. Write '{label}' in {where_en}.", sheet=meta_sheet, column=label))
    if filename:
        match = FILENAME_RE.match(Path(filename).name)
        if not match:
            problems.append(problem("filename", f"Tên tệp '{short(Path(filename).name)}' không đúng quy ước <mã báo cáo>__<kỳ>__<mã đơn vị>.xlsx, ví dụ nq51_action_programme__2019__bhxh_tinh_yen_bai.xlsx. Hãy đặt lại tên tệp.", f"The file name '{short(Path(filename).name)}' does not follow <report>__<period>__<unit>.xlsx, e.g. nq51_action_programme__2019__bhxh_tinh_yen_bai.xlsx. Rename the file."))
        else:
            for key, label in (("obligation", "Mã báo cáo"), ("period", "Kỳ báo cáo"), ("unit", "Mã đơn vị")):
                if meta.get(key) and match[key] != meta[key]:
                    if key == "obligation":
                        # one mistake, said once: the file is checked as the report its name says it is
                        name_says_other = True
                        problems.append(problem("filename_mismatch", f"Tên tệp ghi {label} '{match[key]}' nhưng trong tệp ghi '{short(meta[key])}'. Tệp được kiểm tra theo báo cáo '{match[key]}' ghi ở tên tệp; hãy sửa cho khớp.", f"The file name says {label} '{match[key]}' but the file says '{short(meta[key])}'. The file is checked as report '{match[key]}', the one its name gives; make them agree.", sheet=meta_sheet, column=label))
                        continue
                    problems.append(problem("filename_mismatch", f"Tên tệp ghi {label} '{match[key]}' nhưng trong tệp ghi '{short(meta[key])}'. Hãy sửa cho khớp.", f"The file name says {label} '{match[key]}' but the file says '{short(meta[key])}'. Make them agree.", sheet=meta_sheet, column=label))
    if obligation_id and meta.get("obligation") and meta["obligation"] != obligation_id and not name_says_other:
        problems.append(problem("wrong_obligation", f"Tệp là báo cáo '{short(meta['obligation'])}', không phải '{obligation_id}'. Hãy dùng đúng mẫu của báo cáo '{obligation_id}'.", f"The file is report '{short(meta['obligation'])}', not '{obligation_id}'. Use the template of '{obligation_id}'.", sheet=meta_sheet, column="Mã báo cáo"))
    if cycle and meta.get("period") and meta["period"] != cycle.key:
        problems.append(problem("wrong_period", f"Kỳ báo cáo trong tệp là '{short(meta['period'])}', kỳ đang tổng hợp là '{cycle.key}' ({cycle.period_start:%d/%m/%Y} - {cycle.period_end:%d/%m/%Y}). Hãy gửi số liệu của kỳ {cycle.key}.", f"The file's period is '{short(meta['period'])}', the cycle is '{cycle.key}' ({cycle.period_start:%d/%m/%Y} - {cycle.period_end:%d/%m/%Y}). Send the data of period {cycle.key}.", sheet=meta_sheet, column="Kỳ báo cáo"))
    if not unit_exists:
        day = f" ({cycle.effective_last_day:%d/%m/%Y})" if cycle else ""
        problems.append(problem("unit_not_existing", f"Đơn vị '{short(meta.get('unit'))}' không còn (hoặc chưa) tồn tại vào ngày hạn nộp của kỳ này{day}. Hãy gửi dưới mã của đơn vị kế thừa.", f"Unit '{short(meta.get('unit'))}' does not exist on this cycle's deadline{day}. Send it under the successor unit's code.", sheet=meta_sheet, column="Mã đơn vị"))
    frame = parsed.frame
    if frame is None:
        return problems
    sheet = form.sheet if parsed.kind != "csv" else None
    if frame.empty:
        problems.append(problem("no_rows", "Bảng số liệu không có dòng nào. Hãy điền các chỉ tiêu theo mẫu.", "The data table has no rows. Fill in the indicators from the template.", sheet=sheet))
        return problems
    rows = np.asarray(parsed.rows, dtype=int)
    actual_header = form.header_of("actual")
    keys = {c.key for c in form.columns}
    clean = _clean_table(frame, form)
    if clean is not None:  # the schema, duplicate, kind and measure checks have nothing to say: skip them
        codes, actual_values = clean
        position = dict(zip(codes, range(len(codes)), strict=True))
        value_at = actual_values.__getitem__  # the same float64 values as `actual.iat` below
    else:
        try:
            _pandera_schema(form).validate(frame[["code", "actual", "plan"]], lazy=True)
        except pa.errors.SchemaErrors as exc:
            for case in exc.failure_cases.itertuples():
                column = case.column if isinstance(case.column, str) else None
                index = case.index if case.index == case.index else None
                row = int(rows[int(index)]) if index is not None and int(index) < len(rows) else None
                if str(case.check) == "not_nullable" and column == "code" and index is not None and frame.iloc[int(index)].drop("code").isna().all():
                    continue
                header = form.header_of(column) if column in keys else column
                problems.append(_schema_problem(str(case.check), case.failure_case, sheet, row, header))
        # a repeated row is reported once per repeat; the same code with different values is a different mistake
        full_dup = frame.duplicated(keep="first") & frame["code"].notna()
        code_dup = frame["code"].notna() & frame.duplicated("code", keep="first") & ~full_dup
        for i in np.flatnonzero(full_dup.to_numpy()):
            problems.append(problem("duplicate_row", "Dòng này trùng hoàn toàn với một dòng phía trên. Hãy xóa dòng trùng.", "This row repeats a row above. Delete the duplicate.", sheet=sheet, row=int(rows[i])))
        for i in np.flatnonzero(code_dup.to_numpy()):
            code = frame["code"].iat[i]
            problems.append(problem("duplicate_indicator", f"Mã chỉ tiêu '{short(code)}' xuất hiện nhiều lần với số liệu khác nhau. Hãy giữ một dòng đúng.", f"Indicator code '{short(code)}' appears more than once with different values. Keep the right row.", sheet=sheet, row=int(rows[i]), column=form.header_of("code")))
        kinds = {i.code: i.kind for i in form.indicators}
        measure_of = {i.code: i.measure for i in form.indicators}
        kind = frame["code"].map(kinds)
        actual = frame["actual"].astype(float)
        _out_of_bounds(frame, form, kind, sheet, rows, problems)
        fractional = ((kind == "count") & actual.notna() & (actual % 1 != 0)).to_numpy(dtype=bool)
        for i in np.flatnonzero(fractional):
            problems.append(problem("not_integer", f"Số người/nhiệm vụ/hồ sơ phải là số nguyên, không phải {actual.iat[i]:g}.", f"A count must be a whole number, not {actual.iat[i]:g}.", sheet=sheet, row=int(rows[i]), column=actual_header))
        expected = frame["code"].map(measure_of)
        given = frame["measure"]
        wrong_measure = (expected.notna() & given.notna() & (given.astype(str).str.lower() != expected.astype(str).str.lower())).to_numpy(dtype=bool)
        for i in np.flatnonzero(wrong_measure):
            problems.append(problem("measure", f"Đơn vị tính phải là '{expected.iat[i]}', không phải '{short(given.iat[i])}'.", f"The unit of measure must be '{expected.iat[i]}', not '{short(given.iat[i])}'.", sheet=sheet, row=int(rows[i]), column=form.header_of("measure")))
        first = frame.drop_duplicates("code")
        position = {code: i for i, code in zip(first.index, first["code"], strict=True) if isinstance(code, str)}
        value_at = actual.iat.__getitem__
    if parsed.percent_cells:
        _percent_signs(parsed, form, sheet, rows, problems)
    for ind in form.indicators:
        needed = unit_group in ind.required_for if unit_group else bool(ind.required_for)
        if ind.code not in position:
            if needed:
                problems.append(problem("missing_indicator", f"Thiếu chỉ tiêu {ind.code} ({ind.name}). Hãy thêm dòng này theo mẫu.", f"Indicator {ind.code} ({ind.name}) is missing. Add its row from the template.", sheet=sheet, column=form.header_of("code")))
            continue
        i = position[ind.code]
        if needed and pd.isna(value_at(i)) and (int(rows[i]), "actual") not in parsed.formula_cells and not _not_number_at(problems, int(rows[i]), actual_header):
            problems.append(problem("required_value", f"Chưa nhập số thực hiện của chỉ tiêu {ind.code} ({ind.name}). Hãy nhập số liệu.", f"No actual value for indicator {ind.code} ({ind.name}). Enter it.", sheet=sheet, row=int(rows[i]), column=actual_header))
    values = {code: value_at(i) for code, i in position.items()} if (form.rules or form.sum_rules) else {}
    for rule in form.rules:
        left, right = values.get(rule.left), values.get(rule.right)
        if left is not None and right is not None and pd.notna(left) and pd.notna(right) and left > right:
            problems.append(problem(rule.code, f"{rule.message_vi} ({left:g} > {right:g}). Hãy kiểm tra lại hai chỉ tiêu {rule.left} và {rule.right}.", f"{rule.message_en} ({left:g} > {right:g}). Check {rule.left} and {rule.right}.", sheet=sheet, row=int(rows[position[rule.left]]), column=actual_header))
    for rule in form.sum_rules:
        if not all(c in values for c in rule.left + rule.right):
            continue
        left = sum(float(values[c]) for c in rule.left if pd.notna(values[c]))
        right = sum(float(values[c]) for c in rule.right if pd.notna(values[c]))
        if abs(left - right) > 1e-9:
            lines = ", ".join(str(int(rows[position[c]])) for c in rule.left + rule.right)
            problems.append(problem(rule.code, f"{rule.message_vi}: {left:g} ≠ {right:g} (chênh lệch {left - right:g}; các dòng {lines}). Hãy kiểm tra lại các số liệu này.", f"{rule.message_en}: {left:g} != {right:g} (difference {left - right:g}; rows {lines}). Check these figures.", sheet=sheet, column=actual_header))
    return problems


def _clean_table(frame: pd.DataFrame, form: ReportForm) -> tuple[list[str], np.ndarray] | None:
    """(codes, actual values) of a table on which the schema (pandera), duplicate, percent, whole-number and
    measure checks of `validate_report` find nothing, found with a few array operations; None when any of them
    might find something (they then run, and say what)."""
    index = frame.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1) or not frame.columns.is_unique:
        return None
    if not all(k in frame.columns for k in ("code", "actual", "plan", "measure")):
        return None
    code_col, actual_col, plan_col = frame["code"], frame["actual"], frame["plan"]
    float64 = np.dtype("float64")
    if not (isinstance(code_col.dtype, np.dtype) and code_col.dtype == object):
        return None
    if not (isinstance(actual_col.dtype, np.dtype) and actual_col.dtype == float64 and isinstance(plan_col.dtype, np.dtype) and plan_col.dtype == float64):
        return None
    codes = code_col.tolist()
    n = len(codes)
    if set(map(type, codes)) != {str} or len(set(codes)) != n:
        return None
    info = form_info(form)
    try:
        idx = np.fromiter(map(info.index.__getitem__, codes), dtype=np.intp, count=n)
    except KeyError:  # a code that is not in the form
        return None
    actual, plan = actual_col.to_numpy(), plan_col.to_numpy()
    ceiling = info.ceiling[idx]
    if (actual < 0).any() or (plan < 0).any() or (actual > ceiling).any() or (plan > ceiling).any():
        return None
    counts = actual[info.is_count[idx]]
    counts = counts[~np.isnan(counts)]
    if not np.isfinite(counts).all() or (counts % 1 != 0).any():
        return None
    given = frame["measure"].tolist()
    if not set(map(type, given)) <= {str, float, type(None)}:
        return None
    expected = [info.measures[i] for i in idx.tolist()]
    if given != expected:
        for g, e in zip(given, expected, strict=True):
            if g is None or e is None or (type(g) is float and g != g) or (type(g) is str and type(e) is str and g == e):
                continue  # a blank (None, or NaN in a str column) is not compared
            if type(g) is str and type(e) is str and g.isascii() and e.isascii() and g.lower() == e.lower():
                continue
            return None
    return codes, actual


def _out_of_bounds(frame: pd.DataFrame, form: ReportForm, kind: pd.Series, sheet, rows: np.ndarray, problems: list[Problem]) -> None:
    """A rate outside 0-100 and a count or an amount over its plausibility ceiling, in either number column."""
    ceiling = form_info(form).ceiling
    position = {ind.code: i for i, ind in enumerate(form.indicators)}
    measure_of = {ind.code: ind.measure for ind in form.indicators}
    limit = frame["code"].map(lambda c: ceiling[position[c]] if c in position else np.inf).astype(float)
    is_rate = (kind == "percent").to_numpy(dtype=bool)
    for key in ("actual", "plan"):
        values = frame[key].astype(float)
        header = form.header_of(key)
        over = (values > limit).to_numpy(dtype=bool)
        for i in np.flatnonzero(over & is_rate):
            problems.append(problem("percent_range", f"Tỷ lệ {values.iat[i]:g}% vượt quá 100%. Hãy nhập tỷ lệ từ 0 đến 100 (ví dụ 95,5).", f"Percentage {values.iat[i]:g}% is over 100. Enter 0 to 100 (e.g. 95.5).", sheet=sheet, row=int(rows[i]), column=header))
        for i in np.flatnonzero(over & ~is_rate):
            code = frame["code"].iat[i]
            found = ceiling_for(kind.iat[i], measure_of[code])
            basis_vi, basis_en = (found.basis_vi, found.basis_en) if found else ("", "")
            measure = measure_of[code]
            problems.append(problem(
                "implausible",
                f"Giá trị {thousands_vi(round(values.iat[i]))} {measure} của chỉ tiêu {code} không hợp lý: lớn hơn {thousands_vi(round(limit.iat[i]))} {measure}, mức {basis_vi}. Hãy kiểm tra lại (thừa chữ số hoặc sai đơn vị tính).",
                f"Value {values.iat[i]:,.0f} {measure} of indicator {code} is implausible: more than {limit.iat[i]:,.0f} {measure}, {basis_en}. Check it (extra digits, or the wrong unit of measure).",
                sheet=sheet, row=int(rows[i]), column=header,
            ))


def _percent_signs(parsed: ParsedReport, form: ReportForm, sheet, rows: np.ndarray, problems: list[Problem]) -> None:
    """A % sign (or a percentage format) on a figure that is not a rate: '12%' of people is not a number of people."""
    by_code = {ind.code: ind for ind in form.indicators}
    code_at = dict(zip(rows.tolist(), parsed.frame["code"].tolist(), strict=True))
    for row, key in sorted(parsed.percent_cells):
        ind = by_code.get(code_at.get(row))
        if ind is None or ind.kind == "percent":
            continue
        problems.append(problem(
            "percent_sign",
            f"Chỉ tiêu {ind.code} ({ind.name}) tính bằng '{ind.measure}', không phải tỷ lệ: hãy bỏ dấu % (hoặc định dạng phần trăm của ô) và nhập số {ind.measure}.",
            f"Indicator {ind.code} ({ind.name}) is counted in '{ind.measure}', not a rate: remove the % sign (or the cell's percentage format) and enter the number.",
            sheet=sheet, row=row, column=form.header_of(key),
        ))


def unreadable(parsed: ParsedReport) -> bool:
    """The file could not be opened at all: its one problem says why, and nothing else is worth saying."""
    return parsed.frame is None and not parsed.meta and len(parsed.problems) == 1 and parsed.problems[0].row is None and parsed.problems[0].code not in {"missing_column", "extra_column"}


def _not_number_at(problems: list[Problem], row: int, column: str) -> bool:
    return any(p.code == "not_a_number" and p.row == row and p.column == column for p in problems)


def _schema_problem(check: str, value, sheet, row, header) -> Problem:
    if check.startswith("isin"):
        return problem("unknown_indicator", f"Mã chỉ tiêu '{short(value)}' không có trong mẫu. Hãy dùng đúng mã trong tệp mẫu.", f"Indicator code '{short(value)}' is not in the form. Use the codes of the template.", sheet=sheet, row=row, column=header)
    if check.startswith("greater_than_or_equal_to"):
        return problem("negative", f"Giá trị {short(value)} âm. Hãy nhập số từ 0 trở lên.", f"Value {short(value)} is negative. Enter 0 or more.", sheet=sheet, row=row, column=header)
    if check == "not_nullable":
        return problem("required_value", "Ô bắt buộc đang để trống. Hãy nhập giá trị.", "A required cell is empty. Fill it in.", sheet=sheet, row=row, column=header)
    return problem("invalid_value", f"Giá trị '{short(value)}' không hợp lệ ({short(check)}).", f"Value '{short(value)}' is invalid ({short(check)}).", sheet=sheet, row=row, column=header)

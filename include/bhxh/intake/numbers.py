"""Numbers as units write them ("1.234,5", "12,5%", "1234.5") or as Excel stores them, one cell or a whole
column at a time.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# -- numbers --------------------------------------------------------------------------------------------
_VN_PATTERN = r"[+-]?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]+)?"  # 1.234,5  12,5  1234
_DOT_PATTERN = r"[+-]?[0-9]+\.[0-9]+"  # 12.5 (as Excel or an English locale writes it)
_VN_NUMBER = re.compile(rf"^{_VN_PATTERN}$")
_DOT_DECIMAL = re.compile(rf"^{_DOT_PATTERN}$")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def parse_number(value: object) -> float | None:
    """A number as a Vietnamese user writes it ("1.234,5", "12,5", "1234", "12,5%") or as Excel stores it.

    Returns None for an empty cell; raises ValueError (only) for anything that is not a finite number.
    "1.234" is one thousand two hundred and thirty-four (Vietnamese grouping), "12.5" is twelve and a half.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        if value != value:  # NaN from pandas
            return None
        try:
            number = float(value)
        except OverflowError as exc:
            raise ValueError(value) from exc
        if not np.isfinite(number):
            raise ValueError(value)
        return number
    if not isinstance(value, str):
        raise ValueError(value)
    text = _SPACES.sub("", value)
    if text.endswith("%"):
        text = text[:-1]
    if text == "":
        return None
    if _VN_NUMBER.match(text):
        number = float(text.replace(".", "").replace(",", "."))
    elif _DOT_DECIMAL.match(text):
        number = float(text)
    else:
        raise ValueError(text)
    if not np.isfinite(number):
        raise ValueError(text)
    return number


def parse_numbers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`parse_number` over a whole column at once: (float64 values, mask of cells that are not numbers).

    Strings go through vectorised regular expressions, numbers through one conversion; only odd objects
    (dates, booleans, huge integers) fall back to the cell-by-cell parser.
    """
    values = pd.Series(values, dtype=object).reset_index(drop=True)
    if len(values) <= _SMALL_COLUMN:  # the vectorised path has a fixed cost worth paying only on long columns
        return _parse_numbers_small(values)
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    types = values.map(type)
    is_str = types.isin([str]).to_numpy().copy()
    is_num = types.isin([int, float, np.float64, np.int64]).to_numpy().copy()
    if is_num.any():
        try:
            nums = pd.to_numeric(values[is_num], errors="coerce").to_numpy(dtype=float)
            out[is_num] = nums
            bad[is_num] = np.isinf(nums)
        except (OverflowError, TypeError, ValueError):
            is_num[:] = False  # let the fallback below do these cells one by one
    if is_str.any():
        text = values[is_str].astype(str).str.replace(_SPACES, "", regex=True).str.removesuffix("%")
        vn = text.str.fullmatch(_VN_PATTERN).to_numpy(dtype=bool)
        dot = text.str.fullmatch(_DOT_PATTERN).to_numpy(dtype=bool) & ~vn
        empty = (text == "").to_numpy(dtype=bool)
        converted = np.full(len(text), np.nan)
        if vn.any():
            converted[vn] = pd.to_numeric(
                text[vn].str.replace(".", "", regex=False).str.replace(",", ".", regex=False), errors="coerce"
            ).to_numpy(dtype=float)
        if dot.any():
            converted[dot] = pd.to_numeric(text[dot], errors="coerce").to_numpy(dtype=float)
        out[is_str] = converted
        bad[is_str] = ~(vn | dot | empty) | ((vn | dot) & ~np.isfinite(converted))
    other = ~(is_str | is_num) & ~types.isin([type(None)]).to_numpy()
    for i in np.flatnonzero(other):
        try:
            number = parse_number(values.iat[i])
            out[i] = np.nan if number is None else number
        except ValueError:
            bad[i] = True
    out[bad] = np.nan
    return pd.Series(out, dtype="float64"), pd.Series(bad, dtype=bool)


_SMALL_COLUMN = 64


def _parse_numbers_small(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    out, bad = [], []
    for value in values:
        try:
            number = parse_number(value)
            out.append(np.nan if number is None else number)
            bad.append(False)
        except ValueError:
            out.append(np.nan)
            bad.append(True)
    return pd.Series(out, dtype="float64"), pd.Series(bad, dtype=bool)


_SEP = "\x1f"  # joins a column's cells into one string, to check and convert them in one pass
_VN_COLUMN = re.compile(rf"(?:{_VN_PATTERN})?(?:{_SEP}(?:{_VN_PATTERN})?)*")  # cells that are empty or plain 1.234,5


def fast_numbers(raw: tuple[str, ...], n: int) -> np.ndarray | None:
    """`parse_numbers` of a CSV column (blank cells as None); None when a cell is not a number, or carries a %
    sign (which indicator may carry one is validation's to say, on the full path)."""
    if not any(raw):
        return np.full(n, np.nan)
    joined = _SEP.join(raw)
    if "%" in joined:
        return None
    if _VN_COLUMN.fullmatch(joined) and joined.count(_SEP) == n - 1:
        parts = joined.replace(".", "").replace(",", ".").split(_SEP)
        if "" in raw:
            values = np.array([float(p) if p else np.nan for p in parts], dtype=float)
        else:
            values = np.fromiter(map(float, parts), dtype=float, count=n)
        if not np.isinf(values).any():
            return values
    parsed, bad = parse_numbers(pd.Series([v if v.strip() != "" else None for v in raw], dtype=object))
    return None if bad.any() else parsed.to_numpy()

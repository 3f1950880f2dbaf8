"""Problems ("lỗi") found in a report: each names the sheet, row and column, in Vietnamese and English
(the location is also written at the head of both messages, so a message read alone still says where to look).
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass

from bhxh.intake.limits import MAX_PROBLEMS, thousands_vi

_SHORT = 60  # cell values quoted in messages are cut to this length (README, "Submissions")
MORE_PROBLEMS = "more_problems"  # the code of the closing problem of a capped list
# what a quoted text shows instead of a control, format or line-separator character, or an undecodable byte
_QUOTED = {"Cc": " ", "Cf": " ", "Zl": " ", "Zp": " ", "Cs": "\ufffd"}


@dataclass
class Problem:
    """One thing wrong with a report, with where it is and what to do."""

    code: str
    message_vi: str
    message_en: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def where_vi(self) -> str:
        return _where(self.sheet, self.row, self.column, "vi")

    def where_en(self) -> str:
        return _where(self.sheet, self.row, self.column, "en")


def _where(sheet: str | None, row: int | None, column: str | None, lang: str) -> str:
    parts = []
    if sheet:
        parts.append(f"Sheet '{sheet}'")
    if row:
        parts.append(f"{'dòng' if lang == 'vi' else 'row'} {row}")
    if column:
        parts.append(f"{'cột' if lang == 'vi' else 'column'} '{column}'")
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def short(value: object) -> str:
    """Submitted text as a message may quote it: at most _SHORT characters, on one line, with no control or
    format characters (no line break to forge a line of the answer, no right-to-left override to disguise it)."""
    text = str(value)[: _SHORT * 4]
    text = "".join(_QUOTED.get(unicodedata.category(ch), ch) for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def cap_problems(problems: list[Problem], limit: int = MAX_PROBLEMS) -> list[Problem]:
    """At most `limit` problems and, when there are more, one closing problem that counts the rest.

    The problems that name no row (the file, its block, a missing column or indicator) come first when the list
    is cut: they say what is wrong with the whole file, the rows only repeat a mistake.
    """
    if len(problems) <= limit:
        return list(problems)
    kept = sorted(problems, key=lambda p: p.row is not None)[:limit]
    rest = len(problems) - limit
    return [
        *kept,
        Problem(
            MORE_PROBLEMS,
            f"Và {thousands_vi(rest)} lỗi khác (chỉ liệt kê {limit} lỗi đầu tiên, tổng cộng {thousands_vi(len(problems))} lỗi). "
            "Hãy sửa các lỗi trên và kiểm tra lại cả tệp trước khi gửi lại.",
            f"And {rest:,} more (only the first {limit} of {len(problems):,} problems are listed). "
            "Fix the problems above and check the whole file before sending it again.",
        ),
    ]


def problem(code: str, vi: str, en: str, *, sheet: str | None = None, row: int | None = None, column: str | None = None) -> Problem:
    """A problem whose messages start with where it is ("Sheet 'Chỉ tiêu', dòng 12, cột 'Thực hiện': ...")."""
    where_vi, where_en = _where(sheet, row, column, "vi"), _where(sheet, row, column, "en")
    if where_vi:
        vi, en = f"{where_vi}: {vi}", f"{where_en}: {en}"
    return Problem(code, vi, en, sheet=sheet, row=row, column=column)

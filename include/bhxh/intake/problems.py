"""Problems ("lỗi") found in a report: each names the sheet, row and column, in Vietnamese and English
(the location is also written at the head of both messages, so a message read alone still says where to look).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

_SHORT = 60  # cell values quoted in messages are cut to this length


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
    text = str(value).replace("\x00", "")
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def problem(code: str, vi: str, en: str, *, sheet: str | None = None, row: int | None = None, column: str | None = None) -> Problem:
    """A problem whose messages start with where it is ("Sheet 'Chỉ tiêu', dòng 12, cột 'Thực hiện': ...")."""
    where_vi, where_en = _where(sheet, row, column, "vi"), _where(sheet, row, column, "en")
    if where_vi:
        vi, en = f"{where_vi}: {vi}", f"{where_en}: {en}"
    return Problem(code, vi, en, sheet=sheet, row=row, column=column)

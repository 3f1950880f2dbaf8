"""Errors a user can meet, each with a Vietnamese and an English message."""

from __future__ import annotations


class BhxhError(Exception):
    """Base of every error a person can act on (bad data file, bad input, missing successor)."""

    def __init__(self, message_vi: str, message_en: str, *, code: str = "error") -> None:
        super().__init__(f"{message_vi} / {message_en}")
        self.message_vi = message_vi
        self.message_en = message_en
        self.code = code

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message_vi": self.message_vi, "message_en": self.message_en}


class DataFileError(BhxhError):
    """A data file shipped with the project (catalogue, unit registry, plans) is malformed."""


class UnknownUnitError(BhxhError):
    """A unit id that the registry does not know."""


class CalendarError(BhxhError):
    """The calendar cannot answer (unknown obligation, cycle outside its range, missing successor)."""

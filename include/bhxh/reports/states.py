"""The state of a unit in a cycle ("tình trạng"), in one place: on time, late, invalid, missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # intake imports pandas and pandera (~0.4 s): only a revalidation needs it at run time
    pass


STATES = ("on_time", "late", "invalid", "missing")
STATE_VI = {"on_time": "Đúng hạn", "late": "Trễ hạn", "invalid": "Không hợp lệ", "missing": "Chưa nộp"}

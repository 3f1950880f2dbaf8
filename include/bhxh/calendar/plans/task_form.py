"""The form of a report on plan tasks ("báo cáo tình hình thực hiện nhiệm vụ"): its two sheets, columns and
statuses, shared by the intake that reads the sheets and the reports that consolidate them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the functions below take the intake's pandas columns; the calendar itself needs no pandas
    import pandas as pd

LEAD_SHEET = "Nhiệm vụ chủ trì"
COOP_SHEET = "Nhiệm vụ phối hợp"
TASK_SHEETS = (LEAD_SHEET, COOP_SHEET)
ROLE_OF_SHEET = {LEAD_SHEET: "lead", COOP_SHEET: "cooperating"}

# status label (as the sheet offers it) -> code
STATUSES: dict[str, str] = {
    "Hoàn thành": "completed",
    "Đúng tiến độ": "on_schedule",
    "Chậm tiến độ": "behind",
    "Chưa triển khai": "not_started",
}
STATUS_EN = {"completed": "completed", "on_schedule": "on schedule", "behind": "behind", "not_started": "not started"}
COMPLETED = "Hoàn thành"

# column key -> header, in sheet order
COLUMNS: dict[str, str] = {
    "task_id": "Mã nhiệm vụ",
    "title": "Nội dung nhiệm vụ",
    "planned_product": "Sản phẩm (theo kế hoạch)",
    "timing_text": "Thời gian hoàn thành",
    "due": "Hạn",
    "status": "Tình trạng",
    "product": "Sản phẩm (số, ngày văn bản)",
    "note": "Ghi chú",
}
FILL_COLUMNS = ("status", "product", "note")
REQUIRED_COLUMNS = ("task_id", "status", "product")
FRAME_COLUMNS = ["sheet", "row", "task_id", "title", "status", "product", "note"]


TITLE_ROWS = 2  # a title line and a blank line above the header


# -- validation -----------------------------------------------------------------------------------------
def status_code(status: pd.Series) -> pd.Series:
    """The status code of each cell (case and spacing forgiven), NaN when empty or unknown."""
    folded = {label.casefold(): code for label, code in STATUSES.items()}
    return status.map(lambda v: folded.get(v.casefold()), na_action="ignore")


def canonical_status(status: pd.Series) -> pd.Series:
    """The status as the template writes it ("hoàn  thành" -> "Hoàn thành"); unknown/empty -> None."""
    label = {code: label for label, code in STATUSES.items()}
    return status_code(status).map(label)

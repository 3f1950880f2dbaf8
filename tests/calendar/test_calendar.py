"""Table-driven tests of the reporting calendar (bhxh.calendar): nominal dates, last allowed days, effective
deadlines and due_at for every obligation of the catalogue across 2017-2030, the special cases (weekends, Tết,
substitute days off, swapped working Saturdays, Vietnam Culture Day), Nghị định 09/2019 periods, the catalogue
loader's errors and the units / recipient of a cycle.

The expected values below are written out, not computed with bhxh.calendar: they follow the legal wording
("trước ngày X" -> X-1; "chậm nhất là ngày X" -> X; "vào tháng 12" / "tháng 11 hằng năm" -> last day of the
month) and the Vietnamese working-day calendar (holidays 0.109); rows whose deadline moved carry a comment.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
import yaml

from bhxh.calendar.catalogue import CATALOGUE_FILE, Catalogue, default_catalogue
from bhxh.calendar.cycles import build_cycle
from bhxh.calendar.expected import plan_cycle
from bhxh.calendar.obligations import Obligation
from bhxh.errors import CalendarError, DataFileError

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
D = dt.date.fromisoformat

# (obligation, cycle, nominal due, last allowed day, effective last day) for EVERY cycle 2017-2030.
CALENDAR = [
    ("cchc_annual_plan_consolidated", "2022", "2021-12-25", "2021-12-25", "2021-12-27"),  # Sat
    ("cchc_annual_plan_consolidated", "2023", "2022-12-25", "2022-12-25", "2022-12-26"),  # Sun
    ("cchc_annual_plan_consolidated", "2024", "2023-12-25", "2023-12-25", "2023-12-25"),
    ("cchc_annual_plan_consolidated", "2025", "2024-12-25", "2024-12-25", "2024-12-25"),
    ("cchc_annual_plan_consolidated", "2026", "2025-12-25", "2025-12-25", "2025-12-25"),
    ("cchc_annual_plan_consolidated", "2027", "2026-12-25", "2026-12-25", "2026-12-25"),
    ("cchc_annual_plan_consolidated", "2028", "2027-12-25", "2027-12-25", "2027-12-27"),  # Sat
    ("cchc_annual_plan_consolidated", "2029", "2028-12-25", "2028-12-25", "2028-12-25"),
    ("cchc_annual_plan_consolidated", "2030", "2029-12-25", "2029-12-25", "2029-12-25"),
    ("cchc_annual_plan_units", "2022", "2021-12-15", "2021-12-15", "2021-12-15"),
    ("cchc_annual_plan_units", "2023", "2022-12-15", "2022-12-15", "2022-12-15"),
    ("cchc_annual_plan_units", "2024", "2023-12-15", "2023-12-15", "2023-12-15"),
    ("cchc_annual_plan_units", "2025", "2024-12-15", "2024-12-15", "2024-12-16"),  # Sun
    ("cchc_annual_plan_units", "2026", "2025-12-15", "2025-12-15", "2025-12-15"),
    ("cchc_annual_plan_units", "2027", "2026-12-15", "2026-12-15", "2026-12-15"),
    ("cchc_annual_plan_units", "2028", "2027-12-15", "2027-12-15", "2027-12-15"),
    ("cchc_annual_plan_units", "2029", "2028-12-15", "2028-12-15", "2028-12-15"),
    ("cchc_annual_plan_units", "2030", "2029-12-15", "2029-12-15", "2029-12-17"),  # Sat
    ("cchc_results", "2021-Q4", "2021-12-18", "2021-12-18", "2021-12-20"),  # Sat
    ("cchc_results", "2022-Q1", "2022-03-18", "2022-03-18", "2022-03-18"),
    ("cchc_results", "2022-Q2", "2022-06-18", "2022-06-18", "2022-06-20"),  # Sat
    ("cchc_results", "2022-Q3", "2022-09-18", "2022-09-18", "2022-09-19"),  # Sun
    ("cchc_results", "2022-Q4", "2022-12-18", "2022-12-18", "2022-12-19"),  # Sun
    ("cchc_results", "2023-Q1", "2023-03-18", "2023-03-18", "2023-03-20"),  # Sat
    ("cchc_results", "2023-Q2", "2023-06-18", "2023-06-18", "2023-06-19"),  # Sun
    ("cchc_results", "2023-Q3", "2023-09-18", "2023-09-18", "2023-09-18"),
    ("cchc_results", "2023-Q4", "2023-12-18", "2023-12-18", "2023-12-18"),
    ("cchc_results", "2024-Q1", "2024-03-18", "2024-03-18", "2024-03-18"),
    ("cchc_results", "2024-Q2", "2024-06-18", "2024-06-18", "2024-06-18"),
    ("cchc_results", "2024-Q3", "2024-09-18", "2024-09-18", "2024-09-18"),
    ("cchc_results", "2024-Q4", "2024-12-18", "2024-12-18", "2024-12-18"),
    ("cchc_results", "2025-Q1", "2025-03-18", "2025-03-18", "2025-03-18"),
    ("cchc_results", "2025-Q2", "2025-06-18", "2025-06-18", "2025-06-18"),
    ("cchc_results", "2025-Q3", "2025-09-18", "2025-09-18", "2025-09-18"),
    ("cchc_results", "2025-Q4", "2025-12-18", "2025-12-18", "2025-12-18"),
    ("cchc_results", "2026-Q1", "2026-03-18", "2026-03-18", "2026-03-18"),
    ("cchc_results", "2026-Q2", "2026-06-18", "2026-06-18", "2026-06-18"),
    ("cchc_results", "2026-Q3", "2026-09-18", "2026-09-18", "2026-09-18"),
    ("cchc_results", "2026-Q4", "2026-12-18", "2026-12-18", "2026-12-18"),
    ("cchc_results", "2027-Q1", "2027-03-18", "2027-03-18", "2027-03-18"),
    ("cchc_results", "2027-Q2", "2027-06-18", "2027-06-18", "2027-06-18"),
    ("cchc_results", "2027-Q3", "2027-09-18", "2027-09-18", "2027-09-20"),  # Sat
    ("cchc_results", "2027-Q4", "2027-12-18", "2027-12-18", "2027-12-20"),  # Sat
    ("cchc_results", "2028-Q1", "2028-03-18", "2028-03-18", "2028-03-20"),  # Sat
    ("cchc_results", "2028-Q2", "2028-06-18", "2028-06-18", "2028-06-19"),  # Sun
    ("cchc_results", "2028-Q3", "2028-09-18", "2028-09-18", "2028-09-18"),
    ("cchc_results", "2028-Q4", "2028-12-18", "2028-12-18", "2028-12-18"),
    ("cchc_results", "2029-Q1", "2029-03-18", "2029-03-18", "2029-03-19"),  # Sun
    ("cchc_results", "2029-Q2", "2029-06-18", "2029-06-18", "2029-06-18"),
    ("cchc_results", "2029-Q3", "2029-09-18", "2029-09-18", "2029-09-18"),
    ("cchc_results", "2029-Q4", "2029-12-18", "2029-12-18", "2029-12-18"),
    ("cchc_results", "2030-Q1", "2030-03-18", "2030-03-18", "2030-03-18"),
    ("cchc_results", "2030-Q2", "2030-06-18", "2030-06-18", "2030-06-18"),
    ("cchc_results", "2030-Q3", "2030-09-18", "2030-09-18", "2030-09-18"),
    ("cchc_results", "2030-Q4", "2030-12-18", "2030-12-18", "2030-12-18"),
    ("cashless_payment_report", "2021", "2021-11-30", "2021-11-30", "2021-11-30"),
    ("cashless_payment_report", "2022", "2022-11-30", "2022-11-30", "2022-11-30"),
    ("cashless_payment_report", "2023", "2023-11-30", "2023-11-30", "2023-11-30"),
    ("cashless_payment_report", "2024", "2024-11-30", "2024-11-30", "2024-12-02"),  # Sat
    ("cashless_payment_report", "2025", "2025-11-30", "2025-11-30", "2025-12-01"),  # Sun
    ("cashless_payment_report", "2026", "2026-11-30", "2026-11-30", "2026-11-30"),
    ("cashless_payment_report", "2027", "2027-11-30", "2027-11-30", "2027-11-30"),
    ("cashless_payment_report", "2028", "2028-11-30", "2028-11-30", "2028-11-30"),
    ("cashless_payment_report", "2029", "2029-11-30", "2029-11-30", "2029-11-30"),
    ("cashless_payment_report", "2030", "2030-11-30", "2030-11-30", "2030-12-02"),  # Sat
    ("nq28_dak_lak_bhxh", "2019-H1", "2019-06-20", "2019-06-20", "2019-06-20"),
    ("nq28_dak_lak_bhxh", "2019-H2", "2019-12-20", "2019-12-20", "2019-12-20"),
    ("nq28_dak_lak_bhxh", "2020-H1", "2020-06-20", "2020-06-20", "2020-06-22"),  # Sat
    ("nq28_dak_lak_bhxh", "2020-H2", "2020-12-20", "2020-12-20", "2020-12-21"),  # Sun
    ("nq28_dak_lak_bhxh", "2021-H1", "2021-06-20", "2021-06-20", "2021-06-21"),  # Sun
    ("nq28_dak_lak_bhxh", "2021-H2", "2021-12-20", "2021-12-20", "2021-12-20"),
    ("nq28_dak_lak_bhxh", "2022-H1", "2022-06-20", "2022-06-20", "2022-06-20"),
    ("nq28_dak_lak_bhxh", "2022-H2", "2022-12-20", "2022-12-20", "2022-12-20"),
    ("nq28_dak_lak_bhxh", "2023-H1", "2023-06-20", "2023-06-20", "2023-06-20"),
    ("nq28_dak_lak_bhxh", "2023-H2", "2023-12-20", "2023-12-20", "2023-12-20"),
    ("nq28_dak_lak_bhxh", "2024-H1", "2024-06-20", "2024-06-20", "2024-06-20"),
    ("nq28_dak_lak_bhxh", "2024-H2", "2024-12-20", "2024-12-20", "2024-12-20"),
    ("nq28_dak_lak_bhxh", "2025-H1", "2025-06-20", "2025-06-20", "2025-06-20"),
    ("nq28_dak_lak_bhxh", "2025-H2", "2025-12-20", "2025-12-20", "2025-12-22"),  # Sat
    ("nq28_dak_lak_bhxh", "2026-H1", "2026-06-20", "2026-06-20", "2026-06-22"),  # Sat
    ("nq28_dak_lak_bhxh", "2026-H2", "2026-12-20", "2026-12-20", "2026-12-21"),  # Sun
    ("nq28_dak_lak_bhxh", "2027-H1", "2027-06-20", "2027-06-20", "2027-06-21"),  # Sun
    ("nq28_dak_lak_bhxh", "2027-H2", "2027-12-20", "2027-12-20", "2027-12-20"),
    ("nq28_dak_lak_bhxh", "2028-H1", "2028-06-20", "2028-06-20", "2028-06-20"),
    ("nq28_dak_lak_bhxh", "2028-H2", "2028-12-20", "2028-12-20", "2028-12-20"),
    ("nq28_dak_lak_bhxh", "2029-H1", "2029-06-20", "2029-06-20", "2029-06-20"),
    ("nq28_dak_lak_bhxh", "2029-H2", "2029-12-20", "2029-12-20", "2029-12-20"),
    ("nq28_dak_lak_bhxh", "2030-H1", "2030-06-20", "2030-06-20", "2030-06-20"),
    ("nq28_dak_lak_bhxh", "2030-H2", "2030-12-20", "2030-12-20", "2030-12-20"),
    ("nq28_dak_lak_consolidation", "2018", "2018-12-31", "2018-12-31", "2019-01-02"),  # Mon, substitute day off for the working Saturday 05/01/2019
    ("nq28_dak_lak_consolidation", "2019", "2019-12-31", "2019-12-31", "2019-12-31"),
    ("nq28_dak_lak_consolidation", "2020", "2020-12-31", "2020-12-31", "2020-12-31"),
    ("nq28_dak_lak_consolidation", "2021", "2021-12-31", "2021-12-31", "2021-12-31"),
    ("nq28_dak_lak_consolidation", "2022", "2022-12-31", "2022-12-31", "2023-01-03"),  # Sat
    ("nq28_dak_lak_consolidation", "2023", "2023-12-31", "2023-12-31", "2024-01-02"),  # Sun
    ("nq28_dak_lak_consolidation", "2024", "2024-12-31", "2024-12-31", "2024-12-31"),
    ("nq28_dak_lak_consolidation", "2025", "2025-12-31", "2025-12-31", "2025-12-31"),
    ("nq28_dak_lak_consolidation", "2026", "2026-12-31", "2026-12-31", "2026-12-31"),
    ("nq28_dak_lak_consolidation", "2027", "2027-12-31", "2027-12-31", "2027-12-31"),
    ("nq28_dak_lak_consolidation", "2028", "2028-12-31", "2028-12-31", "2029-01-02"),  # Sun
    ("nq28_dak_lak_consolidation", "2029", "2029-12-31", "2029-12-31", "2029-12-31"),
    ("nq28_dak_lak_consolidation", "2030", "2030-12-31", "2030-12-31", "2030-12-31"),
    ("nq28_dak_lak_units", "2018", "2018-11-30", "2018-11-29", "2018-11-29"),
    ("nq28_dak_lak_units", "2019", "2019-11-30", "2019-11-29", "2019-11-29"),
    ("nq28_dak_lak_units", "2020", "2020-11-30", "2020-11-29", "2020-11-30"),  # Sun
    ("nq28_dak_lak_units", "2021", "2021-11-30", "2021-11-29", "2021-11-29"),
    ("nq28_dak_lak_units", "2022", "2022-11-30", "2022-11-29", "2022-11-29"),
    ("nq28_dak_lak_units", "2023", "2023-11-30", "2023-11-29", "2023-11-29"),
    ("nq28_dak_lak_units", "2024", "2024-11-30", "2024-11-29", "2024-11-29"),
    ("nq28_dak_lak_units", "2025", "2025-11-30", "2025-11-29", "2025-12-01"),  # Sat
    ("nq28_dak_lak_units", "2026", "2026-11-30", "2026-11-29", "2026-11-30"),  # Sun
    ("nq28_dak_lak_units", "2027", "2027-11-30", "2027-11-29", "2027-11-29"),
    ("nq28_dak_lak_units", "2028", "2028-11-30", "2028-11-29", "2028-11-29"),
    ("nq28_dak_lak_units", "2029", "2029-11-30", "2029-11-29", "2029-11-29"),
    ("nq28_dak_lak_units", "2030", "2030-11-30", "2030-11-29", "2030-11-29"),
    ("nq51_action_programme", "2017", "2017-11-15", "2017-11-14", "2017-11-14"),
    ("nq51_action_programme", "2018", "2018-11-15", "2018-11-14", "2018-11-14"),
    ("nq51_action_programme", "2019", "2019-11-15", "2019-11-14", "2019-11-14"),
    ("nq51_action_programme", "2020", "2020-11-15", "2020-11-14", "2020-11-16"),  # Sat
    ("nq51_action_programme", "2021", "2021-11-15", "2021-11-14", "2021-11-15"),  # Sun
    ("nq51_action_programme", "2022", "2022-11-15", "2022-11-14", "2022-11-14"),
    ("nq51_action_programme", "2023", "2023-11-15", "2023-11-14", "2023-11-14"),
    ("nq51_action_programme", "2024", "2024-11-15", "2024-11-14", "2024-11-14"),
    ("nq51_action_programme", "2025", "2025-11-15", "2025-11-14", "2025-11-14"),
    ("nq51_action_programme", "2026", "2026-11-15", "2026-11-14", "2026-11-16"),  # Sat
    ("nq51_action_programme", "2027", "2027-11-15", "2027-11-14", "2027-11-15"),  # Sun
    ("nq51_action_programme", "2028", "2028-11-15", "2028-11-14", "2028-11-14"),
    ("nq51_action_programme", "2029", "2029-11-15", "2029-11-14", "2029-11-14"),
    ("nq51_action_programme", "2030", "2030-11-15", "2030-11-14", "2030-11-14"),
    ("one_stop_2019", "2019", "2019-05-15", "2019-05-14", "2019-05-14"),
    ("org_restructuring_2019", "2019", "2019-12-15", "2019-12-14", "2019-12-16"),  # Sat
    ("tthc_control_quarterly", "2019-Q2", "2019-06-25", "2019-06-25", "2019-06-25"),
    ("tthc_control_quarterly", "2019-Q3", "2019-09-25", "2019-09-25", "2019-09-25"),
    ("tthc_control_quarterly", "2019-Q4", "2019-12-25", "2019-12-25", "2019-12-25"),
    ("tthc_control_quarterly", "2020-Q1", "2020-03-25", "2020-03-25", "2020-03-25"),
    ("tthc_control_quarterly", "2020-Q2", "2020-06-25", "2020-06-25", "2020-06-25"),
    ("tthc_control_quarterly", "2020-Q3", "2020-09-25", "2020-09-25", "2020-09-25"),
    ("tthc_control_quarterly", "2020-Q4", "2020-12-25", "2020-12-25", "2020-12-25"),
    ("tthc_control_quarterly", "2021-Q1", "2021-03-25", "2021-03-25", "2021-03-25"),
    ("tthc_control_quarterly", "2021-Q2", "2021-06-25", "2021-06-25", "2021-06-25"),
    ("tthc_control_quarterly", "2021-Q3", "2021-09-25", "2021-09-25", "2021-09-27"),  # Sat
    ("tthc_control_quarterly", "2021-Q4", "2021-12-25", "2021-12-25", "2021-12-27"),  # Sat
    ("tthc_control_quarterly", "2022-Q1", "2022-03-25", "2022-03-25", "2022-03-25"),
    ("tthc_control_quarterly", "2022-Q2", "2022-06-25", "2022-06-25", "2022-06-27"),  # Sat
    ("tthc_control_quarterly", "2022-Q3", "2022-09-25", "2022-09-25", "2022-09-26"),  # Sun
    ("tthc_control_quarterly", "2022-Q4", "2022-12-25", "2022-12-25", "2022-12-26"),  # Sun
    ("tthc_control_quarterly", "2023-Q1", "2023-03-25", "2023-03-25", "2023-03-27"),  # Sat
    ("tthc_control_quarterly", "2023-Q2", "2023-06-25", "2023-06-25", "2023-06-26"),  # Sun
    ("tthc_control_quarterly", "2023-Q3", "2023-09-25", "2023-09-25", "2023-09-25"),
    ("tthc_control_quarterly", "2023-Q4", "2023-12-25", "2023-12-25", "2023-12-25"),
    ("tthc_control_quarterly", "2024-Q1", "2024-03-25", "2024-03-25", "2024-03-25"),
    ("tthc_control_quarterly", "2024-Q2", "2024-06-25", "2024-06-25", "2024-06-25"),
    ("tthc_control_quarterly", "2024-Q3", "2024-09-25", "2024-09-25", "2024-09-25"),
    ("tthc_control_quarterly", "2024-Q4", "2024-12-25", "2024-12-25", "2024-12-25"),
    ("tthc_control_quarterly", "2025-Q1", "2025-03-25", "2025-03-25", "2025-03-25"),
    ("tthc_control_quarterly", "2025-Q2", "2025-06-25", "2025-06-25", "2025-06-25"),
    ("tthc_control_quarterly", "2025-Q3", "2025-09-25", "2025-09-25", "2025-09-25"),
    ("tthc_control_quarterly", "2025-Q4", "2025-12-25", "2025-12-25", "2025-12-25"),
    ("tthc_control_quarterly", "2026-Q1", "2026-03-25", "2026-03-25", "2026-03-25"),
    ("tthc_control_quarterly", "2026-Q2", "2026-06-25", "2026-06-25", "2026-06-25"),
    ("tthc_control_quarterly", "2026-Q3", "2026-09-25", "2026-09-25", "2026-09-25"),
    ("tthc_control_quarterly", "2026-Q4", "2026-12-25", "2026-12-25", "2026-12-25"),
    ("tthc_control_quarterly", "2027-Q1", "2027-03-25", "2027-03-25", "2027-03-25"),
    ("tthc_control_quarterly", "2027-Q2", "2027-06-25", "2027-06-25", "2027-06-25"),
    ("tthc_control_quarterly", "2027-Q3", "2027-09-25", "2027-09-25", "2027-09-27"),  # Sat
    ("tthc_control_quarterly", "2027-Q4", "2027-12-25", "2027-12-25", "2027-12-27"),  # Sat
    ("tthc_control_quarterly", "2028-Q1", "2028-03-25", "2028-03-25", "2028-03-27"),  # Sat
    ("tthc_control_quarterly", "2028-Q2", "2028-06-25", "2028-06-25", "2028-06-26"),  # Sun
    ("tthc_control_quarterly", "2028-Q3", "2028-09-25", "2028-09-25", "2028-09-25"),
    ("tthc_control_quarterly", "2028-Q4", "2028-12-25", "2028-12-25", "2028-12-25"),
    ("tthc_control_quarterly", "2029-Q1", "2029-03-25", "2029-03-25", "2029-03-26"),  # Sun
    ("tthc_control_quarterly", "2029-Q2", "2029-06-25", "2029-06-25", "2029-06-25"),
    ("tthc_control_quarterly", "2029-Q3", "2029-09-25", "2029-09-25", "2029-09-25"),
    ("tthc_control_quarterly", "2029-Q4", "2029-12-25", "2029-12-25", "2029-12-25"),
    ("tthc_control_quarterly", "2030-Q1", "2030-03-25", "2030-03-25", "2030-03-25"),
    ("tthc_control_quarterly", "2030-Q2", "2030-06-25", "2030-06-25", "2030-06-25"),
    ("tthc_control_quarterly", "2030-Q3", "2030-09-25", "2030-09-25", "2030-09-25"),
    ("tthc_control_quarterly", "2030-Q4", "2030-12-25", "2030-12-25", "2030-12-25"),
]
# Obligations whose deadlines are those of rows above (same wording, same days), written out by that relation:
# the Resolution 63 report goes "đồng thời với" the Resolution 51 one, 2017-2020; the survey and communication
# results share the CCHC results' 18th; the consolidation to Bộ Nội vụ is the 25th of the quarter's last month,
# like the procedure-control report; the management-cost report is due no later than 31/12, like December's
# "vào tháng 12" consolidation in Đắk Lắk (both read 31/12 and move over the same New Year days).
CALENDAR += [("nq63_action_programme_3141", *r[1:]) for r in CALENDAR if r[0] == "nq51_action_programme" and r[1] <= "2020"]
CALENDAR += [(ob, *r[1:]) for ob in ("cchc_survey_results", "cchc_communication_results") for r in CALENDAR if r[0] == "cchc_results"]
CALENDAR += [("cchc_results_consolidated", *r[1:]) for r in CALENDAR if r[0] == "tthc_control_quarterly" and r[1] >= "2021-Q4"]
CALENDAR += [("management_cost_report", *r[1:]) for r in CALENDAR if r[0] == "nq28_dak_lak_consolidation" and r[1] >= "2021"]

ALL_IDS = {
    "nq51_action_programme", "nq28_dak_lak_units", "nq28_dak_lak_consolidation", "nq28_dak_lak_bhxh",
    "org_restructuring_2019", "cchc_annual_plan_units", "cchc_annual_plan_consolidated", "cchc_results",
    "one_stop_2019", "tthc_control_quarterly", "cashless_payment_report", "management_cost_report",
    "nq63_action_programme_3141", "cchc_survey_results", "cchc_communication_results", "cchc_results_consolidated",
}  # fmt: skip


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return default_catalogue()


def _due_at(effective: str) -> str:
    """00:00 Asia/Ho_Chi_Minh of the day after the effective last day, as ISO 8601."""
    return f"{D(effective) + dt.timedelta(days=1)}T00:00:00+07:00"


def test_table_covers_every_obligation_and_every_cycle(cat: Catalogue) -> None:
    assert {ob.id for ob in cat} == ALL_IDS
    assert {row[0] for row in CALENDAR} == ALL_IDS
    for ob in cat:
        expected = sorted(key for ob_id, key, *_ in CALENDAR if ob_id == ob.id)
        # the catalogue's cycles up to the 2030 horizon, restricted to deadlines 2017-2030
        got = sorted(c.key for c in cat.cycles(ob.id, until_year=2030) if 2017 <= c.nominal_due.year <= 2030)
        assert got == expected, ob.id
    assert len(CALENDAR) == 178 + 4 + 2 * 37 + 37 + 10


@pytest.mark.parametrize(("ob_id", "key", "nominal", "last", "effective"), CALENDAR, ids=[f"{r[0]}-{r[1]}" for r in CALENDAR])
def test_deadlines(cat: Catalogue, ob_id: str, key: str, nominal: str, last: str, effective: str) -> None:
    cycle = cat.cycle(ob_id, key)
    assert cycle.nominal_due == D(nominal)
    assert cycle.last_allowed_day == D(last)
    assert cycle.effective_last_day == D(effective)
    assert cycle.due_at.isoformat() == _due_at(effective)
    assert cycle.due_at.tzinfo is not None and cycle.due_at.utcoffset() == dt.timedelta(hours=7)
    assert (cycle.moved_because is None) == (last == effective)


# Explicit due_at instants for a few rows (UTC is 7 hours earlier).
@pytest.mark.parametrize(
    ("ob_id", "key", "due_at", "due_at_utc", "moved_because"),
    [
        ("nq51_action_programme", "2019", "2019-11-15T00:00:00+07:00", "2019-11-14T17:00:00+00:00", None),
        ("nq51_action_programme", "2020", "2020-11-17T00:00:00+07:00", "2020-11-16T17:00:00+00:00", "Thứ Bảy 14/11/2020"),
        ("nq51_action_programme", "2021", "2021-11-16T00:00:00+07:00", "2021-11-15T17:00:00+00:00", "Chủ nhật 14/11/2021"),
        ("nq51_action_programme", "2027", "2027-11-16T00:00:00+07:00", "2027-11-15T17:00:00+00:00", "Chủ nhật 14/11/2027"),
        ("nq28_dak_lak_consolidation", "2018", "2019-01-03T00:00:00+07:00", "2019-01-02T17:00:00+00:00",
         "Ngày nghỉ (thay cho ngày 05/01/2019), Thứ Hai 31/12/2018"),
        ("nq28_dak_lak_consolidation", "2022", "2023-01-04T00:00:00+07:00", "2023-01-03T17:00:00+00:00", "Thứ Bảy 31/12/2022"),
        ("org_restructuring_2019", "2019", "2019-12-17T00:00:00+07:00", "2019-12-16T17:00:00+00:00", "Thứ Bảy 14/12/2019"),
        ("one_stop_2019", "2019", "2019-05-15T00:00:00+07:00", "2019-05-14T17:00:00+00:00", None),
        ("cashless_payment_report", "2025", "2025-12-02T00:00:00+07:00", "2025-12-01T17:00:00+00:00", "Chủ nhật 30/11/2025"),
        ("management_cost_report", "2022", "2023-01-04T00:00:00+07:00", "2023-01-03T17:00:00+00:00", "Thứ Bảy 31/12/2022"),
        ("cchc_annual_plan_units", "2025", "2024-12-17T00:00:00+07:00", "2024-12-16T17:00:00+00:00", "Chủ nhật 15/12/2024"),
        ("cchc_annual_plan_consolidated", "2022", "2021-12-28T00:00:00+07:00", "2021-12-27T17:00:00+00:00", "Thứ Bảy 25/12/2021"),
    ],
)  # fmt: skip
def test_due_at_instants(cat: Catalogue, ob_id: str, key: str, due_at: str, due_at_utc: str, moved_because: str | None) -> None:
    cycle = cat.cycle(ob_id, key)
    assert cycle.due_at.isoformat() == due_at
    assert cycle.due_at.astimezone(dt.UTC).isoformat() == due_at_utc
    assert cycle.moved_because == moved_because
    assert cycle.is_late(cycle.due_at) and not cycle.is_late(cycle.due_at - dt.timedelta(seconds=1))


def test_deadline_wordings_in_catalogue(cat: Catalogue) -> None:
    """The rule of each obligation matches its legal wording."""
    wording = {ob.id: (ob.deadline.rule, ob.legal_basis.wording) for ob in cat}
    for ob_id, phrase, rule in [
        ("nq51_action_programme", "trước ngày 15 tháng 11", "before"),
        ("nq28_dak_lak_units", "trước 30/11", "before"),
        ("nq28_dak_lak_consolidation", "vào tháng 12", "during_month"),
        ("org_restructuring_2019", "trước ngày 15/12/2019", "before"),
        ("cchc_annual_plan_units", "chậm nhất là ngày 15 tháng 12", "no_later_than"),
        ("cchc_annual_plan_consolidated", "chậm\nnhất là ngày 25 tháng 12", "no_later_than"),
        ("one_stop_2019", "trước 15/5/2019", "before"),
        ("nq63_action_programme_3141", "trước ngày 15 tháng 11", "before"),
        ("cashless_payment_report", "Tháng 11 hằng năm", "during_month"),
    ]:
        got_rule, text = wording[ob_id]
        assert got_rule == rule, ob_id
        assert " ".join(phrase.split()) in " ".join(text.split()), ob_id


# ---------------------------------------------------------------------------------------- special days
def _synthetic(rule: str, day: dt.date | None = None, *, recurrence: str = "once", month: int | None = None,
               dday: int | None = None) -> Obligation:  # fmt: skip
    """A minimal obligation whose deadline lands where a test wants it."""
    base = {
        "id": "thu_nghiem", "title_vi": "Thử nghiệm", "title_en": "Test", "recipient": "vu_pc", "department": "vu_pc",
        "legal_basis": {"document": "0/TEST", "date": "2019-01-01", "part": "-", "wording": "-"},
        "reporters": {"groups": ["provincial"]}, "template": "task_report", "schema": "plan_tasks",
    }  # fmt: skip
    if recurrence == "once":
        assert day is not None
        base |= {
            "recurrence": "once",
            "deadline": {"rule": rule, "date": day.isoformat()},
            "period": {"start": (day - dt.timedelta(days=90)).isoformat(), "end": (day - dt.timedelta(days=2)).isoformat()},
        }
    else:
        base |= {
            "recurrence": recurrence, "first_cycle": "2019-Q1" if recurrence == "quarterly" else 2019,
            "deadline": {"rule": rule, "month": month, "day": dday},
            "period": {"months": 3, "end": {"month": 0, "day": 14}},
        }  # fmt: skip
    return Obligation.model_validate(base)


# Worked out by hand from holidays 0.109 (Vietnam); the premises are checked in test_special_day_premises.
SPECIAL = [
    # "trước ngày 30/01/2025": last allowed Wed 29/01/2025 = Tết Nguyên Đán (mùng 1); Tết runs Mon 27/01 to
    # Sat 01/02, then Sunday: the first working day is Mon 03/02/2025.
    ("before", "2025-01-30", "2025-01-29", "2025-02-03", "Tết Nguyên Đán, Thứ Tư 29/01/2025"),
    # "chậm nhất là ngày 28/01/2025": Giao thừa (Tết's eve) -> Mon 03/02/2025.
    ("no_later_than", "2025-01-28", "2025-01-28", "2025-02-03", "Giao thừa Tết Nguyên Đán, Thứ Ba 28/01/2025"),
    # Tết 2026: Mon 16/02 (Giao thừa) to Fri 20/02 (mùng 4), then the weekend: Mon 23/02/2026.
    ("no_later_than", "2026-02-17", "2026-02-17", "2026-02-23", "Tết Nguyên Đán, Thứ Ba 17/02/2026"),
    # Substitute day off Fri 02/05/2025 (for the working Saturday 26/04/2025), then the weekend -> Mon 05/05.
    ("no_later_than", "2025-05-02", "2025-05-02", "2025-05-05", "Ngày nghỉ (thay cho ngày 26/04/2025), Thứ Sáu 02/05/2025"),
    # "trước ngày 30/04/2019": last allowed Mon 29/04/2019, a substitute day off (for Sat 04/05/2019); 30/04 and
    # 01/05 are holidays -> Thu 02/05/2019.
    ("before", "2019-04-30", "2019-04-29", "2019-05-02", "Ngày nghỉ (thay cho ngày 04/05/2019), Thứ Hai 29/04/2019"),
    # Substitute day off Mon 31/08/2026 (for Sat 22/08/2026), then 1-2/9 National Day -> Thu 03/09/2026.
    ("no_later_than", "2026-08-31", "2026-08-31", "2026-09-03", "Ngày nghỉ (thay cho ngày 22/08/2026), Thứ Hai 31/08/2026"),
    # Observed day: Hùng Kings' day Sun 26/04/2026 is observed Mon 27/04; 30/04, 01/05 holidays -> Tue 28/04.
    ("no_later_than", "2026-04-27", "2026-04-27", "2026-04-28", "Ngày Giỗ Tổ Hùng Vương (nghỉ bù), Thứ Hai 27/04/2026"),
    # Swapped working Saturdays: Sat 04/05/2019, Sat 26/04/2025 and Sat 22/08/2026 are working days: no move.
    ("no_later_than", "2019-05-04", "2019-05-04", "2019-05-04", None),
    ("before", "2019-05-05", "2019-05-04", "2019-05-04", None),
    ("no_later_than", "2025-04-26", "2025-04-26", "2025-04-26", None),
    ("before", "2026-08-23", "2026-08-22", "2026-08-22", None),
    # An ordinary Saturday next to it is not: Sat 11/05/2019 -> Mon 13/05/2019.
    ("no_later_than", "2019-05-11", "2019-05-11", "2019-05-13", "Thứ Bảy 11/05/2019"),
    # Vietnam Culture Day (24/11, from 2026): Tue 24/11/2026 -> Wed 25/11/2026.
    ("no_later_than", "2026-11-24", "2026-11-24", "2026-11-25", "Ngày Văn hóa Việt Nam, Thứ Ba 24/11/2026"),
    # New Year's Day Sun 01/01/2023 observed Mon 02/01 -> Tue 03/01/2023.
    ("no_later_than", "2023-01-01", "2023-01-01", "2023-01-03", "Tết Dương lịch, Chủ nhật 01/01/2023"),
]


@pytest.mark.parametrize(("rule", "nominal", "last", "effective", "reason"), SPECIAL, ids=[f"{r[0]}-{r[1]}" for r in SPECIAL])
def test_special_days(rule: str, nominal: str, last: str, effective: str, reason: str | None) -> None:
    ob = _synthetic(rule, D(nominal))
    cycle = build_cycle(ob, nominal[:4])
    assert (cycle.nominal_due, cycle.last_allowed_day, cycle.effective_last_day) == (D(nominal), D(last), D(effective))
    assert cycle.due_at.isoformat() == _due_at(effective)
    assert cycle.moved_because == reason


def test_special_day_premises() -> None:
    """The hand-computed SPECIAL table rests on these facts of holidays 0.109 (Vietnam)."""
    vn = holidays.country_holidays("VN", years=range(2019, 2027), language="vi")
    for day in ["2025-01-27", "2025-01-29", "2025-01-31", "2025-02-01", "2026-02-16", "2026-02-20",
                "2025-05-02", "2019-04-29", "2019-04-30", "2019-05-01", "2026-08-31", "2026-09-01", "2026-09-02",
                "2026-04-27", "2026-11-24", "2023-01-02", "2018-12-31"]:  # fmt: skip
        assert D(day) in vn, day
    assert "Tết Nguyên Đán" in vn[D("2025-01-29")]
    for day in ["2019-05-04", "2025-04-26", "2026-08-22", "2019-01-05"]:
        assert D(day) in vn.weekend_workdays and D(day).weekday() == 5 and vn.is_working_day(D(day))
    for day in ["2025-02-03", "2026-02-23", "2025-05-05", "2019-05-02", "2026-09-03", "2026-04-28", "2019-05-13"]:
        assert vn.is_working_day(D(day)), day


def test_quarterly_deadline_in_the_next_month_lands_on_tet() -> None:
    """A quarterly deadline one month after the quarter (month offset 1): Q4/2024 due 29/01/2025, Tết."""
    ob = _synthetic("no_later_than", recurrence="quarterly", month=1, dday=29)
    cycle = build_cycle(ob, "2024-Q4")
    assert (cycle.period_start, cycle.period_end) == (D("2024-09-15"), D("2024-12-14"))
    assert cycle.nominal_due == D("2025-01-29") and cycle.effective_last_day == D("2025-02-03")
    assert cycle.due_at.isoformat() == "2025-02-04T00:00:00+07:00"
    assert "Tết" in (cycle.moved_because or "")


def test_during_month_is_the_last_day_of_the_month(cat: Catalogue) -> None:
    # "vào tháng 12 hằng năm" and "Tháng 11 hằng năm"
    assert cat.cycle("nq28_dak_lak_consolidation", "2024").last_allowed_day == D("2024-12-31")
    assert cat.cycle("cashless_payment_report", "2024").last_allowed_day == D("2024-11-30")
    assert cat.cycle("cashless_payment_report", "2024").effective_last_day == D("2024-12-02")  # Sat 30/11


# ---------------------------------------------------------------------------------------- periods
@pytest.mark.parametrize(
    ("ob_id", "key", "start", "end"),
    [
        # quarterly (Điều 12: 15th of the month before the quarter to the 14th of its last month)
        ("cchc_results", "2022-Q1", "2021-12-15", "2022-03-14"),
        ("cchc_results", "2022-Q2", "2022-03-15", "2022-06-14"),
        ("cchc_results", "2022-Q3", "2022-06-15", "2022-09-14"),
        ("cchc_results", "2022-Q4", "2022-09-15", "2022-12-14"),
        ("cchc_results", "2024-Q1", "2023-12-15", "2024-03-14"),
        ("tthc_control_quarterly", "2019-Q2", "2019-03-15", "2019-06-14"),
        ("tthc_control_quarterly", "2030-Q4", "2030-09-15", "2030-12-14"),
        # half-yearly
        ("nq28_dak_lak_bhxh", "2020-H1", "2019-12-15", "2020-06-14"),
        ("nq28_dak_lak_bhxh", "2020-H2", "2020-06-15", "2020-12-14"),
        # yearly (15/12 of the previous year to 14/12)
        ("nq28_dak_lak_consolidation", "2020", "2019-12-15", "2020-12-14"),
        # plan year 2026 rests on 2025; Điều 8 khoản 5 (strict): 2025's deadline Mon 16/12/2024 (15/12 a Sunday)
        # leaves Fri 13/12 between, so 2025 ended Thu 12/12/2024; 2026's, Mon 15/12/2025, ends it Thu 11/12/2025
        ("cchc_annual_plan_units", "2026", "2024-12-13", "2025-12-11"),
        # interpretations written in the catalogue: 12 months to 14/10
        ("nq51_action_programme", "2019", "2018-10-15", "2019-10-14"),
        ("cashless_payment_report", "2025", "2024-10-15", "2025-10-14"),
        ("management_cost_report", "2025", "2024-12-15", "2025-12-14"),
        # one-offs
        ("one_stop_2019", "2019", "2018-12-15", "2019-03-14"),
        # 14/12/2019 (Điều 12) -> 12/12/2019: Fri 13/12 is the working day before the deadline Mon 16/12/2019
        ("org_restructuring_2019", "2019", "2019-07-19", "2019-12-12"),
    ],
)
def test_periods(cat: Catalogue, ob_id: str, key: str, start: str, end: str) -> None:
    cycle = cat.cycle(ob_id, key)
    assert (cycle.period_start, cycle.period_end) == (D(start), D(end))
    assert cycle.interval_start == dt.datetime(*D(start).timetuple()[:3], tzinfo=TZ)
    assert cycle.interval_end == dt.datetime.combine(D(end) + dt.timedelta(days=1), dt.time(), TZ)


def test_periodic_cycles_are_contiguous(cat: Catalogue) -> None:
    for ob in cat:
        if ob.recurrence == "once":
            continue
        cycles = cat.cycles(ob.id, until_year=2030)
        for a, b in zip(cycles, cycles[1:], strict=False):
            assert b.period_start == a.period_end + dt.timedelta(days=1), (ob.id, a.key)
        # at least one day between the end of the cut-off and the deadline (Điều 8 khoản 5)
        assert all(c.period_end < c.last_allowed_day for c in cycles), ob.id


@pytest.mark.parametrize("ob_id", ["org_restructuring_2019", "one_stop_2019"])
def test_one_off_has_exactly_one_cycle(cat: Catalogue, ob_id: str) -> None:
    assert cat.get(ob_id).cycle_keys() == ["2019"]
    assert [c.key for c in cat.cycles(ob_id, until_year=2030)] == ["2019"]
    assert len([c for y in range(2017, 2031) for c in cat.cycles_due_in(y) if c.obligation_id == ob_id]) == 1
    with pytest.raises(CalendarError):
        cat.cycle(ob_id, "2020")


def test_cycles_due_in_uses_the_nominal_year(cat: Catalogue) -> None:
    got = Counter(c.obligation_id for c in cat.cycles_due_in(2025))
    # 4 quarters each of five quarterly reports, 2 halves, 6 yearly ones (the plan for 2026 is due 15/12/2025)
    assert got == {"cchc_results": 4, "cchc_survey_results": 4, "cchc_communication_results": 4,
                   "cchc_results_consolidated": 4, "tthc_control_quarterly": 4, "nq28_dak_lak_bhxh": 2,
                   "nq51_action_programme": 1, "cashless_payment_report": 1, "management_cost_report": 1,
                   "nq28_dak_lak_units": 1, "cchc_annual_plan_units": 1, "cchc_annual_plan_consolidated": 1,
                   "nq28_dak_lak_consolidation": 1}  # fmt: skip
    assert {c.key for c in cat.cycles_due_in(2025) if c.obligation_id.startswith("cchc_annual")} == {"2026"}
    assert [c.obligation_id for c in cat.cycles_due_in(2019) if c.obligation_id.endswith("2019")] == [
        "one_stop_2019", "org_restructuring_2019"
    ]
    # the Resolution 63 report goes with the Resolution 51 one until the plan's 2020 horizon
    assert [c.key for c in cat.cycles("nq63_action_programme_3141")] == ["2017", "2018", "2019", "2020"]
    assert "nq63_action_programme_3141" not in {c.obligation_id for c in cat.cycles_due_in(2021)}


# ---------------------------------------------------------------------------------------- Điều 8 khoản 5
def _working_days_between(first: dt.date, last: dt.date) -> int:
    """Working days strictly between two days, from holidays 0.109 and the catalogue's overrides."""
    from bhxh.calendar.workdays import default_workdays

    wd = default_workdays()
    return sum(wd.is_working_day(first + dt.timedelta(days=n)) for n in range(1, (last - first).days))


def test_every_cycle_leaves_a_working_day_after_its_cut_off(cat: Catalogue) -> None:
    """The one reading of Điều 8 khoản 5 (catalogue.yaml, header), for every cycle 2017-2030: a working day lies
    strictly between the last day of data and the effective last day."""
    cycles = [c for ob in cat for c in cat.cycles(ob.id, until_year=2030)]
    assert len(cycles) >= 300
    short = [c.cycle_id for c in cycles if _working_days_between(c.period_end, c.effective_last_day) < 1]
    assert short == []


def test_dieu8_moves_the_cut_off_only_where_the_seed_leaves_no_working_day(cat: Catalogue) -> None:
    moved = {c.cycle_id: (c.period_end_nominal, c.period_end) for ob in cat for c in cat.cycles(ob.id, until_year=2030)
             if c.period_end_nominal is not None}  # fmt: skip
    assert {k.split("/")[0] for k in moved} == {"cchc_annual_plan_units", "org_restructuring_2019"}
    assert moved["org_restructuring_2019/2019"] == (D("2019-12-14"), D("2019-12-12"))
    # plan year 2022: deadline Wed 15/12/2021, Tue 14/12 in between -> data to Mon 13/12/2021
    assert moved["cchc_annual_plan_units/2022"] == (D("2021-12-14"), D("2021-12-13"))
    # plan year 2025: deadline Sun 15/12/2024 -> Mon 16/12; Fri 13/12 in between -> data to Thu 12/12/2024
    assert moved["cchc_annual_plan_units/2025"] == (D("2024-12-14"), D("2024-12-12"))
    # the next cycle starts the day after the moved cut-off: no day of data falls between two cycles
    assert cat.cycle("cchc_annual_plan_units", "2026").period_start == D("2024-12-13")
    # a consolidation whose own deadline leaves days keeps the Điều 12 end
    assert cat.cycle("cchc_annual_plan_consolidated", "2025").period_end == D("2024-12-14")


# ---------------------------------------------------------------------------------------- the month-end reading
def test_during_month_shows_the_other_reading(cat: Catalogue) -> None:
    # "vào tháng 12" 2022: 31/12 is a Saturday; the rule moves it to Tue 03/01/2023, the other reading keeps Fri 30/12
    c = cat.cycle("nq28_dak_lak_consolidation", "2022")
    assert (c.effective_last_day, c.other_reading_day, c.month_end_reading) == (
        D("2023-01-03"), D("2022-12-30"), "next_working_day")
    # "Tháng 11 hằng năm" 2024: Sat 30/11 -> Mon 02/12, or Fri 29/11 inside November
    c = cat.cycle("cashless_payment_report", "2024")
    assert (c.effective_last_day, c.other_reading_day) == (D("2024-12-02"), D("2024-11-29"))
    # both readings agree when the month's last day is a working day; other rules have none
    assert cat.cycle("cashless_payment_report", "2023").other_reading_day is None
    assert cat.cycle("nq51_action_programme", "2020").other_reading_day is None


def test_an_operator_can_choose_the_last_working_day_of_the_month(cat: Catalogue) -> None:
    raw = cat.get("nq28_dak_lak_consolidation").model_dump(by_alias=True)
    ob = Obligation.model_validate({**raw, "during_month_reading": "last_working_day_of_month"})
    c = build_cycle(ob, "2022")
    assert (c.last_allowed_day, c.effective_last_day, c.other_reading_day) == (D("2022-12-31"), D("2022-12-30"), D("2023-01-03"))
    assert c.due_at.isoformat() == "2022-12-31T00:00:00+07:00"
    assert c.moved_because is None and "cuối tháng" in c.deadline_text_vi()
    assert c.period_end < c.effective_last_day


# ---------------------------------------------------------------------------------------- working-day data
def test_new_year_2026_swap_and_pending_culture_day() -> None:
    from bhxh.calendar.workdays import default_workdays

    wd = default_workdays()
    # Công văn 12729/VPCP-KGVX: Fri 02/01/2026 off, Sat 10/01/2026 worked (holidays 0.109 knows neither)
    assert not wd.is_working_day(D("2026-01-02")) and wd.is_working_day(D("2026-01-10"))
    assert "12729/VPCP-KGVX" in (wd.holiday_name(D("2026-01-02")) or "")
    # 24/11 from 2026 is applied, but pending: its other reading makes it a working day
    assert not wd.is_working_day(D("2026-11-24")) and wd.pending_on(D("2026-11-24")).name == "Ngày Văn hóa Việt Nam"
    assert wd.pending_on(D("2025-11-24")) is None and wd.pending_on(D("2026-11-25")) is None
    assert wd.without_pending().is_working_day(D("2026-11-24"))
    assert not wd.without_pending().is_working_day(D("2026-11-28"))  # a Saturday stays a Saturday


def test_an_override_settles_a_pending_day(tmp_path: Path) -> None:
    from bhxh.calendar.workdays import DATA_FILE, load_workdays

    text = DATA_FILE.read_text(encoding="utf-8").replace(
        "  - 2026-01-10   #", "  - 2026-11-24   # Bộ luật Lao động chưa sửa đổi\n  - 2026-01-10   #"
    )
    (tmp_path / "workdays.yaml").write_text(text, encoding="utf-8")
    wd = load_workdays(tmp_path / "workdays.yaml")
    assert wd.is_working_day(D("2026-11-24")) and wd.pending_on(D("2026-11-24")) is None
    assert wd.pending_on(D("2027-11-24")) is not None


# ---------------------------------------------------------------------------------------- units, recipients
def test_nq51_2019_expects_63_provinces_and_central_units() -> None:
    plan = plan_cycle("nq51_action_programme", "2019")
    groups = Counter(u.group for u in plan.units)
    assert groups["provincial"] == 63 and groups["central"] > 0
    assert set(groups) == {"provincial", "central"}
    assert plan.recipient is not None and plan.recipient.id == "vu_khdt"
    assert plan.flags == []


def test_nq51_2026_expects_34_provinces_and_flags_the_ceased_recipient() -> None:
    plan = plan_cycle("nq51_action_programme", "2026")
    groups = Counter(u.group for u in plan.units)
    assert groups["provincial"] == 34 and groups["central"] > 0
    # Vụ Kế hoạch và Đầu tư ended 28/02/2025 and the data names no successor: flagged, not guessed; shown by its
    # last known name, never by its code, and nothing is addressed to it.
    assert plan.recipient is None
    assert plan.recipient_ceased is not None and plan.recipient_ceased.email is None
    assert plan.recipient_name == "Vụ Kế hoạch và Đầu tư"
    assert any("Vụ Kế hoạch và Đầu tư" in f and "successor" in f for f in plan.flags)


def test_flags_name_units_never_by_their_code(cat: Catalogue) -> None:
    from bhxh.calendar.units import default_registry

    codes = {u.id for u in default_registry().all()}
    flagged = 0
    for ob in cat:
        for cycle in cat.cycles(ob.id, until_year=2030):
            for flag in plan_cycle(ob.id, cycle.key).flags:
                flagged += 1
                assert not any(re.search(rf"\b{re.escape(code)}\b", flag) for code in codes), flag
    assert flagged > 0  # Vụ KH&ĐT from 2025, Trung tâm DVHCC & CSKH and Truyền thông from 2025


def test_2025_cycles_expect_only_units_that_exist_and_cover_a_province(cat: Catalogue) -> None:
    """No cycle due in 2025 expects a unit that does not exist on its deadline, nor a provincial-level unit that
    covers no province (region XXXV of the registry once did)."""
    from bhxh.calendar.units import default_registry

    reg = default_registry()
    checked = 0
    for cycle in cat.cycles_due_in(2025):
        plan = plan_cycle(cycle.obligation_id, cycle.key)
        day = cycle.effective_last_day
        for expected in plan.units + ([plan.recipient] if plan.recipient else []):
            unit = reg.get(expected.id)
            assert unit.exists_on(day), (cycle.cycle_id, unit.id)
            if unit.group == "provincial" and unit.id.startswith(("bhxh_kv_", "bhxh_2025_")):
                assert unit.absorbed, (cycle.cycle_id, unit.id)
            checked += 1
        provincial = [u for u in plan.units if u.group == "provincial"]
        if "provincial" in plan.obligation.reporters.groups:  # the whole country, each province exactly once
            covered = [p for u in provincial for p in (reg.get(u.id).absorbed or (u.id,))]
            assert sorted(covered) == sorted(set(covered)) and len(covered) == 63, cycle.cycle_id
    assert checked > 250
    # 18/06/2025 (CCHC results Q2): the 35 regions of 391/QĐ-BTC, region XXXV being Bến Tre - Vĩnh Long
    q2 = plan_cycle("cchc_results", "2025-Q2")
    assert sum(u.id.startswith("bhxh_kv_") for u in q2.units) == 35
    assert set(reg.get("bhxh_kv_35").absorbed) == {"bhxh_tinh_ben_tre", "bhxh_tinh_vinh_long"}
    # 18/03/2025: the 63 offices; 20/06/2025: Đắk Lắk's report comes from region XXV (Đắk Lắk - Đắk Nông)
    assert sum(u.group == "provincial" for u in plan_cycle("cchc_results", "2025-Q1").units) == 63
    assert [u.id for u in plan_cycle("nq28_dak_lak_bhxh", "2025-H1").units] == ["bhxh_kv_25"]


def test_cashless_payment_takes_the_2030_row_after_2025() -> None:
    early, late = plan_cycle("cashless_payment_report", "2025"), plan_cycle("cashless_payment_report", "2026")
    assert "tình hình thực hiện" in early.obligation.legal_basis.wording
    assert "kết quả thực hiện" in late.obligation.legal_basis.wording
    assert "60%" in early.obligation.legal_basis.context and "80%" in late.obligation.legal_basis.context
    assert early.obligation.cooperating == ("group:provincial", "vnpost")
    assert late.obligation.cooperating == ("ban_csxh", "tt_cntt", "group:provincial", "vnpost")
    assert "Tổng công ty Bưu điện Việt Nam" in early.cooperating and len(late.cooperating) == 4
    assert [u.id for u in early.units] == ["vu_tckt"] and early.recipient.id == "thu_tuong"


def test_management_cost_report_goes_to_the_standing_committee_and_the_ministry(cat: Catalogue) -> None:
    ob = cat.get("management_cost_report")
    assert (ob.recipient, ob.also_to, ob.department) == ("ubtvqh", ("bo_tai_chinh",), "vu_tckt")
    assert "Hằng năm và kết thúc giai đoạn 3 năm" in ob.legal_basis.wording
    assert "Hằng năm và định kỳ 3 năm" in ob.for_cycle("2026").legal_basis.wording
    assert ob.deadline.interpretation and "Diễn giải" in ob.deadline.interpretation
    assert cat.cycle("management_cost_report", "2021").effective_last_day == D("2021-12-31")


# ---------------------------------------------------------------------------------------- loader errors
def _raw() -> dict:
    return yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _mutate_rule(raw: dict) -> dict:
    raw["obligations"][0]["deadline"]["rule"] = "sometime"
    return raw


def _mutate_duplicate(raw: dict) -> dict:
    raw["obligations"].append(dict(raw["obligations"][0]))
    return raw


def _mutate_feeds(raw: dict) -> dict:
    raw["obligations"][1]["feeds"] = "khong_ton_tai"
    return raw


def _mutate_missing_list(raw: dict) -> dict:
    return {"nghia_vu": raw["obligations"]}


@pytest.mark.parametrize(
    ("content", "needle_vi", "needle_en"),
    [
        ("obligations: [\n  - id: x\n    title_vi: 'unterminated\n", "Không đọc được", "Cannot read"),
        (_mutate_rule, "không hợp lệ", "is invalid"),
        (_mutate_duplicate, "bị trùng", "duplicate obligation id"),
        (_mutate_feeds, "không có trong danh mục", "feeds unknown obligation"),
        (_mutate_missing_list, "thiếu danh sách", "is missing"),
    ],
    ids=["bad_yaml", "unknown_rule", "duplicate_id", "unknown_feeds", "no_obligations"],
)
def test_loader_errors(tmp_path: Path, content, needle_vi: str, needle_en: str) -> None:
    path = _write(tmp_path, content if isinstance(content, str) else content(_raw()))
    with pytest.raises(DataFileError) as info:
        Catalogue.load(path)
    err = info.value
    assert needle_vi in err.message_vi and needle_en in err.message_en
    assert str(path) in err.message_en
    assert err.as_dict()["message_vi"] == err.message_vi


def test_loader_unknown_rule_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(DataFileError) as info:
        Catalogue.load(_write(tmp_path, _mutate_rule(_raw())))
    assert "deadline.rule" in info.value.message_en and "nq51_action_programme" in info.value.message_vi


def test_loader_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError):
        Catalogue.load(tmp_path / "khong_co.yaml")


def test_shipped_catalogue_loads_and_feeds_are_known() -> None:
    cat = Catalogue.load()
    feeds = {ob.id: ob.feeds for ob in cat if ob.feeds}
    assert feeds == {"nq28_dak_lak_units": "nq28_dak_lak_consolidation",
                     "cchc_annual_plan_units": "cchc_annual_plan_consolidated",
                     "cchc_results": "cchc_results_consolidated", "cchc_survey_results": "cchc_results_consolidated",
                     "cchc_communication_results": "cchc_results_consolidated",
                     "one_stop_2019": "tthc_control_quarterly"}  # fmt: skip
    assert cat.get("cchc_results_consolidated").approval == cat.get("cchc_annual_plan_consolidated").approval
    assert len(cat.notes) >= 20 and {n.kind for n in cat.notes} == {"on_request", "event", "one_off", "no_time"}

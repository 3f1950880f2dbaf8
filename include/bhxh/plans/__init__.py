"""Plans as data: the task tables of the seed plans (see README.md in include/bhxh/data/plans/).

from bhxh.plans import load_plans, timed_reports
plans = load_plans()                      # {plan id: Plan}, from the kept YAML files
plans["cchc_2021_2030"].tasks_led_by("vu_tckt")
timed_reports()                           # tasks whose product is a report due in a given month
"""

from bhxh.plans.model import (
    PLAN_IDS,
    PLANS_DIR,
    Plan,
    Task,
    find_task,
    load_plans,
    obligation_fields,
    timed_reports,
)

__all__ = [
    "PLAN_IDS", "PLANS_DIR", "Plan", "Task", "find_task", "load_plans", "obligation_fields", "timed_reports",
]  # fmt: skip

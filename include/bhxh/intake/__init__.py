"""Intake ("tiếp nhận báo cáo"): reading a unit's report file, validating it against its form and cycle,
and keeping every version in the store; the inbox folder that feeds it.

Above the calendar and the store; imports nothing of reports, notify or the steps.
"""

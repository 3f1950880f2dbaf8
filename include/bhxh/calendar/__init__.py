"""When, who reports and who receives ("lịch báo cáo"): the catalogue of obligations, their cycles and
deadlines, working days, the effective-dated unit registry, the report forms and the plans' task tables.

The bottom of the package with the store: it imports nothing of intake, reports, notify or the steps.
"""

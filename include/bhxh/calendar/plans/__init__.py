"""Plans as data: the task tables of the seed plans (see README.md in include/bhxh/calendar/data/plans/),
who leads and cooperates on each task, and the form of a report on plan tasks.
"""

"""Notifications ("thông báo"): the outbox, its delivery through apprise, and the reminders the calendar owes.

Above the calendar and the store; imports nothing of intake, reports or the steps.
"""

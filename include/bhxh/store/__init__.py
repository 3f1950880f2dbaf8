"""The submissions store ("kho báo cáo"): SQLAlchemy models, engines and sessions, Alembic migrations.

The bottom of the package with the calendar: it imports nothing else of bhxh.
"""

"""Alembic environment of the submissions store.

On SQLite, altering a column recreates its table (Alembic's batch mode); with foreign keys enforced, dropping
a table that other rows refer to (stored_files, from submissions) fails. They are switched off for the
migration, outside its transaction (where SQLite would ignore the pragma), and on again after it.
"""

from alembic import context

from bhxh.store.engine import get_engine
from bhxh.store.models import Base

config = context.config
engine = config.attributes.get("engine") or get_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"foreign keys broken by the migration: {problems[:5]}")
    finally:
        if sqlite:
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()

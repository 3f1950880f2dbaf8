"""Alembic environment of the submissions store."""

from alembic import context

from bhxh.store.engine import get_engine
from bhxh.store.models import Base

config = context.config
engine = config.attributes.get("engine") or get_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()

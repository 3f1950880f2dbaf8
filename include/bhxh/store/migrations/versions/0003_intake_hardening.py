"""intake hardening: a file refused before it was read keeps no content; the full count of a capped error list

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stored_files") as batch:
        batch.alter_column("content", existing_type=sa.LargeBinary(), nullable=True)
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("error_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("error_count")
    # a refused file has no content to give back: an empty one stands for it once content is required again
    op.execute(sa.text("UPDATE stored_files SET content = :empty WHERE content IS NULL").bindparams(
        sa.bindparam("empty", b"", type_=sa.LargeBinary())))
    with op.batch_alter_table("stored_files") as batch:
        batch.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)

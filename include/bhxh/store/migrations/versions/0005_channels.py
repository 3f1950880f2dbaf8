"""the units' ways in: parcels (a message, an upload) with their files, the signed document of a submission,
portal key versions

Revision ID: 0005
Revises: 0003 (the lead re-points it after 0004 at merge)
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("document_sha256", sa.String(length=64), nullable=False, server_default=""))
        batch.drop_constraint("uq_submission_file", type_="unique")
        batch.create_unique_constraint(
            "uq_submission_file", ["obligation_id", "cycle_key", "unit_id", "sha256", "document_sha256"]
        )
    op.create_table(
        "parcels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=400), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("sender_verified", sa.Boolean(), nullable=True),
        sa.Column("unit_id", sa.String(length=64), nullable=True),
        sa.Column("obligation_id", sa.String(length=64), nullable=True),
        sa.Column("cycle_key", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("receipt_number", sa.String(length=32), nullable=True),
        sa.Column("signature_state", sa.String(length=16), nullable=True),
        sa.Column("signature", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "ref", name="uq_parcel_ref"),
        sa.UniqueConstraint("receipt_number"),
    )
    op.create_index("ix_parcels_unit_id", "parcels", ["unit_id"])
    op.create_table(
        "parcel_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("parcel_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kept", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["parcel_id"], ["parcels.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_parcel_files_parcel_id", "parcel_files", ["parcel_id"])
    op.create_table(
        "portal_keys",
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("unit_id"),
    )


def downgrade() -> None:
    op.drop_table("portal_keys")
    op.drop_index("ix_parcel_files_parcel_id", table_name="parcel_files")
    op.drop_table("parcel_files")
    op.drop_index("ix_parcels_unit_id", table_name="parcels")
    op.drop_table("parcels")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint("uq_submission_file", type_="unique")
        batch.create_unique_constraint("uq_submission_file", ["obligation_id", "cycle_key", "unit_id", "sha256"])
        batch.drop_column("document_sha256")

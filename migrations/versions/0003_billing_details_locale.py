"""billing details: preferred_locale for the invoice documents

Revision ID: 0003_billing_details_locale
Revises: three_d_secure
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_billing_details_locale"
down_revision: str | None = "three_d_secure"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_details") as batch:
        batch.add_column(sa.Column("preferred_locale", sa.String(length=35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_details") as batch:
        batch.drop_column("preferred_locale")

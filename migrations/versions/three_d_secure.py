"""3-D Secure: payment attempts awaiting the cardholder; the sandbox's setup intents and
authentication-asking test cards

Revision ID: three_d_secure
Revises: 0002_events_outbox
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'three_d_secure'
down_revision: str | None = '0002_events_outbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sandbox_setup_intents',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('client_secret', sa.String(length=255), nullable=False),
    sa.Column('customer_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('payment_method_id', sa.String(length=40), nullable=True),
    sa.Column('last_error', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_setup_intents'))
    )
    with op.batch_alter_table('sandbox_payment_methods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authentication', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('set_up_off_session', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('sandbox_charges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=32), server_default='succeeded', nullable=False))
        batch_op.add_column(sa.Column('client_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('customer_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('invoice_id', sa.String(length=40), nullable=True))
    # Charges made before this revision either succeeded or were declined for good.
    op.execute("UPDATE sandbox_charges SET status = 'failed' WHERE decline_code IS NOT NULL")
    with op.batch_alter_table('payment_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_secret', sa.String(length=255), nullable=True))
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accounts_provider_customer_id'), ['provider_customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accounts_provider_customer_id'))
    with op.batch_alter_table('payment_attempts', schema=None) as batch_op:
        batch_op.drop_column('client_secret')
    with op.batch_alter_table('sandbox_charges', schema=None) as batch_op:
        batch_op.drop_column('invoice_id')
        batch_op.drop_column('customer_id')
        batch_op.drop_column('client_secret')
        batch_op.drop_column('status')
    with op.batch_alter_table('sandbox_payment_methods', schema=None) as batch_op:
        batch_op.drop_column('set_up_off_session')
        batch_op.drop_column('authentication')
    op.drop_table('sandbox_setup_intents')

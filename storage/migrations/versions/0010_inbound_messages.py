"""inbound messages: platform deliveries handled once, by message id

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_messages',
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=128), nullable=False),
    sa.Column('received_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('platform', 'message_id', name=op.f('pk_inbound_messages'))
    )
    op.create_index(op.f('ix_inbound_messages_received_at'), 'inbound_messages', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_inbound_messages_received_at'), table_name='inbound_messages')
    op.drop_table('inbound_messages')

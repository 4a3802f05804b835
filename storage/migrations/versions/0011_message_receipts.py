"""message receipts (which bot messages a person has read, where the platform tells),
join offers (bindings offered to the people a plan names), leases on nudge claims,
draft versions and the send budget all processes of a bot share

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('query_key', sa.String(length=128), nullable=False),
    sa.Column('sent_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_receipts'))
    )
    op.create_index('ix_message_receipts_person', 'message_receipts', ['platform', 'external_id', 'sent_at'], unique=False)
    with op.batch_alter_table('sent_reminders') as batch:
        batch.add_column(sa.Column('lease_until', storage.models.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('drafts') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))
    op.create_table('send_budget',
    sa.Column('bot', sa.String(length=64), nullable=False),
    sa.Column('second', sa.BigInteger(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bot', 'second', name=op.f('pk_send_budget'))
    )
    op.create_table('join_offers',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('contact', sa.String(length=80), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('offered_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_join_offers_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_join_offers_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'unit_id', 'contact', name=op.f('pk_join_offers'))
    )


def downgrade() -> None:
    op.drop_table('send_budget')
    with op.batch_alter_table('sent_reminders') as batch:
        batch.drop_column('lease_until')
    with op.batch_alter_table('drafts') as batch:
        batch.drop_column('version')
    op.drop_table('join_offers')
    op.drop_index('ix_message_receipts_person', table_name='message_receipts')
    op.drop_table('message_receipts')

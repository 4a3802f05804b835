"""calendar notices: coordinators told once about a year without holiday data

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('notified_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_calendar_notices_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_notices')),
    sa.UniqueConstraint('campaign_id', 'year', name=op.f('uq_calendar_notices_campaign_id_year'))
    )


def downgrade() -> None:
    op.drop_table('calendar_notices')

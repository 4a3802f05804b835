"""pending plan revisions: a plan sent in chat over an existing campaign, until confirmed

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 22:00:00
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pending_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('source_name', sa.String(length=300), nullable=False),
    sa.Column('source_text', sa.Text(), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=True),
    sa.Column('proposed_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('decided_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_pending_revisions_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by'], ['people.id'], name=op.f('fk_pending_revisions_proposed_by_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_revisions')),
    sqlite_autoincrement=True
    )


def downgrade() -> None:
    op.drop_table('pending_revisions')

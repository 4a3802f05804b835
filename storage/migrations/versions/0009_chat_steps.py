"""chat steps: half-done conversation steps kept in the database

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chat_steps',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_chat_steps_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'kind', name=op.f('pk_chat_steps'))
    )


def downgrade() -> None:
    op.drop_table('chat_steps')

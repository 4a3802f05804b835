"""conversations (the draft last shown, a pending 退回), the step a draft showed, and
one-time confirmations

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversations',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('shown_draft_id', sa.Integer(), nullable=True),
    sa.Column('review_submission_id', sa.Integer(), nullable=True),
    sa.Column('review_asked_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_conversations_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['review_submission_id'], ['submissions.id'], name=op.f('fk_conversations_review_submission_id_submissions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shown_draft_id'], ['drafts.id'], name=op.f('fk_conversations_shown_draft_id_drafts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_conversations'))
    )
    op.create_table('confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('consumed_at', storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_confirmations_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_confirmations')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('confirmations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_confirmations_person_id'), ['person_id'], unique=False)
    op.add_column('drafts', sa.Column('shown_step', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_column('shown_step')
    with op.batch_alter_table('confirmations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_confirmations_person_id'))
    op.drop_table('confirmations')
    op.drop_table('conversations')

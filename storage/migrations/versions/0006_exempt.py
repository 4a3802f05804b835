"""unit deadline overrides (免报 / 延期 per unit)

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'unit_deadline_overrides',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('deadline_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('due_at', storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('changed_at', storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['people.id'],
                                name=op.f('fk_unit_deadline_overrides_created_by_people'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['deadline_id'], ['deadlines.id'],
                                name=op.f('fk_unit_deadline_overrides_deadline_id_deadlines'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_unit_deadline_overrides_unit_id_units'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_deadline_overrides')),
        sa.UniqueConstraint('unit_id', 'deadline_id',
                            name=op.f('uq_unit_deadline_overrides_unit_id_deadline_id')),
    )
    with op.batch_alter_table('unit_deadline_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_deadline_overrides_deadline_id'),
                              ['deadline_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('unit_deadline_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_deadline_overrides_deadline_id'))
    op.drop_table('unit_deadline_overrides')

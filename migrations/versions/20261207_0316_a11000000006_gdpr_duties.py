"""trust: GDPR duties

Revision ID: a11000000006
Revises: a11000000005
Create Date: 2026-12-07 03:16:00

"""
from alembic import op
import sqlalchemy as sa

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'a11000000006'
down_revision = 'a11000000005'
branch_labels = None
depends_on = None


def upgrade():
    # Where a contact's data came from, set by the system (GDPR art. 14: the source); when it
    # was anonymised (art. 17); an index for the retention list (art. 5(1)(e)).
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column(
            'source_job_id', sa.String(length=36),
            sa.ForeignKey('job.id', name=op.f('fk_contact_source_job_id_job'), ondelete='SET NULL'),
            nullable=True))
        batch_op.add_column(sa.Column(
            'created_by_id', sa.Integer(),
            sa.ForeignKey('user.id', name=op.f('fk_contact_created_by_id_user')), nullable=True))
        batch_op.add_column(sa.Column('anonymised_at', sdd_crm.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_contact_retention', ['anonymised_at', 'updated_at'], unique=False)
    # What the free-text source said so far: "import:<job id> <file>" or "gebruiker:<e-mail>".
    op.execute("UPDATE contact SET source_kind = 'import' WHERE source LIKE 'import:%'")
    op.execute("UPDATE contact SET source_kind = 'user' WHERE source LIKE 'gebruiker:%'")
    op.execute("UPDATE contact SET source_kind = 'system' WHERE source_kind IS NULL")
    op.execute("UPDATE contact SET source_job_id = (SELECT job.id FROM job "
               "WHERE job.id = substr(contact.source, 8, 36)) WHERE source_kind = 'import'")
    op.execute('UPDATE contact SET created_by_id = (SELECT "user".id FROM "user" '
               "WHERE 'gebruiker:' || \"user\".email = contact.source) WHERE source_kind = 'user'")


def downgrade():
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_retention')
        batch_op.drop_constraint(op.f('fk_contact_created_by_id_user'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_contact_source_job_id_job'), type_='foreignkey')
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('source_job_id')
        batch_op.drop_column('source_kind')

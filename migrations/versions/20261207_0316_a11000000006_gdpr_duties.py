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
    pass


def downgrade():
    pass

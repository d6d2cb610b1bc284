"""trust: server-side sessions

Revision ID: a11000000002
Revises: a11000000001
Create Date: 2026-12-07 03:12:00

"""
from alembic import op
import sqlalchemy as sa

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'a11000000002'
down_revision = 'a11000000001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

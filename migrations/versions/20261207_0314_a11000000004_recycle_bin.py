"""trust: recycle bin

Revision ID: a11000000004
Revises: a11000000003
Create Date: 2026-12-07 03:14:00

"""
from alembic import op
import sqlalchemy as sa

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'a11000000004'
down_revision = 'a11000000003'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""trust: spare

Revision ID: a11000000007
Revises: a11000000006
Create Date: 2026-12-07 03:17:00

"""
from alembic import op
import sqlalchemy as sa

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'a11000000007'
down_revision = 'a11000000006'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

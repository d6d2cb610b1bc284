"""trust: audit trail filters and immutability

Indexes for the audit screen's filters (action, result, origin, each with the time), and on
PostgreSQL a trigger that refuses any UPDATE or DELETE of audit_event unless the transaction has
switched on ``sdd_crm.audit_rewrite`` (only ``sdd_crm.audit.guard.allow_rewrite`` does).

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

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_immutable() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('sdd_crm.audit_rewrite', true), '') <> 'on' THEN
        RAISE EXCEPTION 'audit rows cannot be changed or deleted (%)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_action', ['action', 'at'], unique=False)
        batch_op.create_index('ix_audit_event_result', ['result', 'at'], unique=False)
        batch_op.create_index('ix_audit_event_origin', ['origin', 'at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute("CREATE TRIGGER audit_event_immutable BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_immutable()")
        op.execute("CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_immutable()")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_immutable ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_immutable()")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_origin')
        batch_op.drop_index('ix_audit_event_result')
        batch_op.drop_index('ix_audit_event_action')

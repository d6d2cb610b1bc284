"""This wave's migrations upgrade a database that already holds users and their records, and go
back down: the embedded install (SQLite, foreign keys on) must never be stuck on an upgrade.

A migration that makes SQLite rebuild the ``user`` table fails there ("FOREIGN KEY constraint
failed": the rebuild drops a table that sessions, contact moments, … point at), while an empty
database — all ``test_schema`` migrates — passes.
"""

from __future__ import annotations

import sqlalchemy as sa
from test_backup import app_on  # an app on a database of its own

from sdd_crm.extensions import db

BEFORE = "c13000000001"  # the last migration of the previous wave


def _seed_old_schema():
    db.session.execute(sa.text(
        "INSERT INTO municipality (code, name, drechtsteden_member) VALUES ('GM0505', 'Dordrecht', 1)"))
    db.session.execute(sa.text(
        "INSERT INTO user (id, email, name, role, municipality_code, active, locale, "
        "failed_login_count, created_at, updated_at, version) VALUES (1, 'lokaal@example.nl', "
        "'Lotte Lokaal', 'local_account_manager', 'GM0505', 1, 'nl', 0, "
        "'2026-11-01 08:00:00.000000', '2026-11-01 08:00:00.000000', 1)"))
    db.session.execute(sa.text(
        "INSERT INTO user_session (id, user_id, token_hash, created_at, last_seen_at) "
        "VALUES (1, 1, 'abc', '2026-12-01 08:00:00.000000', '2026-12-01 08:00:00.000000')"))
    db.session.commit()


def test_the_upgrade_and_downgrade_keep_users_on_sqlite(tmp_path):
    from flask_migrate import downgrade, upgrade

    with app_on("sqlite:///" + str(tmp_path / "with-users.sqlite3")):
        upgrade(revision=BEFORE)
        _seed_old_schema()
        upgrade()
        row = db.session.execute(sa.text(
            "SELECT email, notify_in_app, notify_email, notify_digest FROM user")).one()
        # The existing user gets the defaults: told in the app and by e-mail, no digest.
        assert tuple(row) == ("lokaal@example.nl", 1, 1, 0)
        assert db.session.scalar(sa.text("SELECT count(*) FROM user_session")) == 1
        db.session.commit()
        downgrade(revision=BEFORE)
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("user")}
        assert "notify_in_app" not in columns
        assert db.session.scalar(sa.text("SELECT count(*) FROM user")) == 1
        db.session.commit()
        upgrade()
        assert db.session.scalar(sa.text("SELECT count(*) FROM user_session")) == 1

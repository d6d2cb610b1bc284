"""The one transaction boundary (sdd_crm/transaction.py): commit once at the end, roll back on
any exception, withdraw what the request announced, run after-commit work only after a commit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from html_helpers import build_region, text
from sdd_crm import transaction
from sdd_crm.extensions import db
from sdd_crm.organisations import views as organisation_views
from sdd_crm.organisations.models import Organisation

NEW = {"name": "Grenswerf B.V.", "org_type": "company", "status": "active", "city": "Dordrecht",
       "version": ""}


@pytest.fixture
def region(make_user, make_org):
    return build_region(make_user, make_org)


def _named(name: str):
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))


def test_an_exception_after_the_service_wrote_saves_nothing(client, login, region, monkeypatch):
    login(region.users["regional_account_manager"])
    real = organisation_views.create_organisation

    def create_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("boom after the flush")

    monkeypatch.setattr(organisation_views, "create_organisation", create_then_fail)
    resp = client.post("/organisations/new", data=NEW)
    assert resp.status_code == 500
    assert "Er ging iets mis" in text(resp)
    assert _named(NEW["name"]) is None


def test_a_commit_refused_by_the_database_is_a_conflict_and_its_flash_is_withdrawn(
        client, login, region, monkeypatch):
    login(region.users["regional_account_manager"])

    def refuse():
        raise IntegrityError("INSERT INTO organisation", {}, Exception("unique"))

    monkeypatch.setattr(transaction, "commit", refuse)
    resp = client.post("/organisations/new", data=NEW)
    assert resp.status_code == 409
    assert "botst met een bestaand record" in text(resp)
    monkeypatch.undo()
    assert _named(NEW["name"]) is None
    # The "is toegevoegd" message was flashed before the commit failed: it must not show later.
    assert "is toegevoegd" not in text(client.get("/organisations/"))


def test_a_successful_post_commits_once_and_keeps_its_flash(client, login, region, monkeypatch):
    login(region.users["regional_account_manager"])
    commits = []
    real = transaction.commit
    monkeypatch.setattr(transaction, "commit", lambda: (commits.append(1), real()))
    resp = client.post("/organisations/new", data=NEW, follow_redirects=True)
    assert resp.status_code == 200
    assert "Organisatie Grenswerf B.V. is toegevoegd." in text(resp)
    assert commits == [1]  # the POST; the page it redirects to only reads
    assert _named(NEW["name"]) is not None


def test_a_read_only_page_ends_without_a_rollback_on_postgresql(client, login, region):
    """psycopg forgets a connection's prepared statements at every ROLLBACK: a page that only
    read ends its transaction with a commit on PostgreSQL (so the statements and their plans are
    reused by the next request), its loaded objects kept; on SQLite nothing changes."""
    login(region.users["regional_account_manager"])
    ended = []
    sess = db.session()

    def on_commit(_session):
        ended.append("commit")

    def on_rollback(_session):
        ended.append("rollback")

    sa.event.listen(sess, "after_commit", on_commit)
    sa.event.listen(sess, "after_rollback", on_rollback)
    try:
        assert client.get(f"/organisations/{region.dordrecht.id}").status_code == 200
    finally:
        sa.event.remove(sess, "after_commit", on_commit)
        sa.event.remove(sess, "after_rollback", on_rollback)
    assert ended == (["commit"] if db.engine.dialect.name == "postgresql" else [])
    assert sess.expire_on_commit  # the default again for the next unit of work


def test_a_refused_form_comes_back_with_its_input_and_nothing_saved(client, login, region):
    login(region.users["local_account_manager"])  # of Dordrecht: may not create elsewhere
    resp = client.post("/organisations/new", data={**NEW, "city": "Sliedrecht"})
    assert resp.status_code in (403, 422)
    assert _named(NEW["name"]) is None


def test_after_commit_work_runs_after_a_commit_and_never_after_a_rollback(app):
    calls = []
    with transaction.unit_of_work():
        transaction.after_commit(lambda: calls.append("committed"))
        assert calls == []  # not before the commit
    assert calls == ["committed"]
    with pytest.raises(RuntimeError), transaction.unit_of_work():
        transaction.after_commit(lambda: calls.append("rolled back"))
        raise RuntimeError("refused")
    assert calls == ["committed"]


def test_a_bulk_update_without_a_flush_still_counts_as_work(app, make_org):
    org = make_org(name="Kade B.V.")
    db.session.commit()
    assert not transaction.has_work()
    db.session.execute(sa.update(Organisation).where(Organisation.id == org.id)
                       .values(description="bijgewerkt"))
    assert transaction.has_work()
    db.session.rollback()
    assert not transaction.has_work()


def test_a_refusal_caught_by_the_view_undoes_only_its_own_work(app, make_org):
    from sdd_crm.exceptions import ValidationError

    with transaction.unit_of_work():
        make_org(name="Blijft B.V.")
        try:
            with transaction.attempt():
                # written (and flushed) by the service before it refused
                db.session.add(Organisation(name="Half B.V.", org_type="company"))
                db.session.flush()
                raise ValidationError("geweigerd")
        except ValidationError:
            pass  # the view flashes why and redirects: the boundary commits the request
    assert _named("Blijft B.V.") is not None
    assert _named("Half B.V.") is None


def test_a_refused_supply_link_delete_saves_nothing_it_wrote(client, login, make_user, make_org,
                                                             monkeypatch):
    """The catch-and-redirect views run their service inside attempt(): what the service wrote
    before it refused is not committed with the redirect."""
    from valuechains_support import build_net, link_for

    from sdd_crm.exceptions import ConflictError
    from sdd_crm.valuechains import network_views

    net = build_net(make_user, make_org)
    link = link_for(net, net.sliedrecht, net.dordrecht)

    def writes_then_refuses(link, **kwargs):
        link.supplied = "half gewijzigd"
        db.session.flush()
        raise ConflictError()

    monkeypatch.setattr(network_views, "delete_supply_link", writes_then_refuses)
    login(net.users["admin"])
    resp = client.post(f"/chains/links/{link.id}/delete",
                       data={"version": str(link.version), "back": str(net.dordrecht.id)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert link.supplied == "staal" and link.deleted_at is None

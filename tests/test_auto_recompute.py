"""Issue 14, point 1: a changed network recomputes criticality by itself, and a page whose
figures are stale or missing says so to every user.

* A change of what the engine reads (a supply link, a role, a chain, an employment figure, the
  settings) is noted in ``criticality_state`` when it commits and asks for one recompute; a
  burst of changes in the web or the API waits ``CRITICALITY_RECOMPUTE_DELAY`` and is computed
  once.
* The pages that show criticality — *Kritische bedrijven*, the organisation page and its
  criticality page, the value-chain page, the dashboard's figures — carry one notice while the
  figures are stale ("berekend op …; de waardeketens zijn daarna gewijzigd") or missing ("nog
  niet berekend"), with ``role="status"``, for every role; those who may recompute get the
  button.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from criticality_support import flags, link, make_chain, recompute
from html_helpers import text

from sdd_crm.db import utcnow
from sdd_crm.extensions import db
from sdd_crm.jobs import outbox
from sdd_crm.jobs.models import Job, JobOutbox
from sdd_crm.valuechains import jobs as criticality_jobs
from sdd_crm.valuechains.models import CriticalityState
from sdd_crm.valuechains.recompute import figures_state, schedule_recompute

API = "/api/v1"
STALE = "de waardeketens zijn daarna gewijzigd"
MISSING = "De kritikaliteit is nog niet berekend"
WAITING = "Een herberekening staat klaar."
BUTTON = "Nu herberekenen"
ROLES = ["viewer", "local_account_manager", "business_developer", "regional_account_manager",
         "admin"]


def _jobs() -> list[Job]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Job).where(Job.kind == criticality_jobs.JOB_KIND)
                                   .order_by(Job.created_at)))


@pytest.fixture
def admin(make_user):
    return make_user("admin")


@pytest.fixture
def hub(admin, make_org):
    """A supplier of three customers (not the only one yet), computed once: current figures."""
    chain = make_chain("Signaalketen Auto")
    supplier = make_org(admin, name="Auto Leverancier", kvk_number="71000201", employees=20)
    customers = [make_org(admin, name=f"Auto Afnemer {i}", kvk_number=f"7100021{i}",
                          employees=20) for i in range(3)]
    links = [link(supplier, c, chain) for c in customers]
    db.session.commit()
    recompute()
    assert figures_state().current
    return supplier, links


def _make_sole(client, headers, links) -> None:
    for row in links:
        db.session.refresh(row)
        resp = client.patch(f"{API}/supply-links/{row.id}", headers=headers,
                            json={"version": row.version, "sole_source": True})
        assert resp.status_code == 200, resp.get_json()


# --- what is recorded -------------------------------------------------------------------------

def test_a_fresh_database_is_missing_its_figures_until_a_recompute():
    state = figures_state()
    assert state.missing and not state.current and not state.pending
    recompute()
    state = figures_state()
    assert state.current and state.computed_at is not None


def test_a_change_is_noted_when_it_commits_and_forgotten_when_rolled_back(hub, app, monkeypatch):
    monkeypatch.setitem(app.config, "CRITICALITY_AUTO_RECOMPUTE", False)
    version = db.session.scalar(sa.select(CriticalityState.network_version))
    schedule_recompute(reason="supply_link")
    db.session.rollback()
    assert figures_state().current  # nothing was stored, so nothing is stale
    schedule_recompute(reason="supply_link")
    db.session.commit()
    state = figures_state()
    assert state.stale and not state.pending and state.what_changed == "network"
    assert db.session.scalar(sa.select(CriticalityState.network_version)) == version + 1
    assert _jobs()[-1].params.get("trigger") == "test"  # switched off: no job, still stale
    recompute()
    assert figures_state().current


def test_a_supply_link_change_requests_one_recompute_that_runs_after_the_commit(
        hub, client, api_headers, admin):
    _supplier, links = hub
    before = len(_jobs())
    _make_sole(client, api_headers(admin), links[:1])
    jobs = _jobs()
    assert len(jobs) == before + 1 and jobs[-1].params == {"trigger": "auto",
                                                           "reason": "supply_link"}
    assert jobs[-1].status == "finished"  # inline jobs: run right after the commit
    assert figures_state().current


def test_many_changes_in_a_short_time_are_computed_once(hub, client, api_headers, admin, app,
                                                        monkeypatch):
    monkeypatch.setitem(app.config, "CRITICALITY_RECOMPUTE_DELAY", 60)
    supplier, links = hub
    before = len(_jobs())
    _make_sole(client, api_headers(admin), links)  # three requests, three commits
    jobs = _jobs()
    assert len(jobs) == before + 1 and jobs[-1].status == "queued"
    row = db.session.scalar(sa.select(JobOutbox).where(JobOutbox.job_id == jobs[-1].id))
    assert row.dispatched_at is None and row.available_at > utcnow() + dt.timedelta(seconds=50)
    state = figures_state()
    assert state.stale and state.pending
    assert flags(supplier)[0][0] is False  # not yet computed
    assert outbox.dispatch() == 0  # not due yet: the burst may go on

    assert outbox.dispatch(now=utcnow() + dt.timedelta(seconds=61)) == 1  # a dispatcher round
    jobs = _jobs()
    assert len(jobs) == before + 1 and jobs[-1].status == "finished"
    assert flags(supplier)[0][0] is True
    assert figures_state().current


def test_a_change_during_a_running_recompute_asks_for_another(hub, app):
    running = criticality_jobs.create_job(trigger="auto")
    running.status = "running"  # it may have read the network before this change
    db.session.commit()
    schedule_recompute(reason="chain_role")
    db.session.commit()
    assert [j.status for j in _jobs()][-2:] == ["running", "finished"]


def test_a_recompute_records_the_version_it_read_not_a_later_one(hub, app, monkeypatch):
    """A change committed while a recompute computes leaves the figures stale."""
    from sdd_crm.valuechains import criticality_store

    monkeypatch.setitem(app.config, "CRITICALITY_AUTO_RECOMPUTE", False)
    real = criticality_store.load_network

    def load_then_change():
        loaded = real()
        db.session.execute(sa.update(CriticalityState).values(
            network_version=CriticalityState.network_version + 1))
        return loaded

    monkeypatch.setattr(criticality_store, "load_network", load_then_change)
    recompute()
    assert figures_state().stale


def test_a_change_that_waited_for_a_running_recompute_gets_a_follow_up(hub, app, monkeypatch):
    """A change committed while the queued recompute had already read the network saw that job
    queued and asked for none; the recompute sees the newer version when it records its own and
    asks for one more, so the figures do not stay stale until the next change."""
    from sdd_crm.valuechains import criticality_store

    real, changed = criticality_store.load_network, []

    def load_then_change():
        loaded = real()
        if not changed:  # once: the change of another transaction, committed meanwhile
            changed.append(True)
            db.session.execute(sa.update(CriticalityState).values(
                network_version=CriticalityState.network_version + 1))
        return loaded

    monkeypatch.setattr(criticality_store, "load_network", load_then_change)
    before = len(_jobs())
    recompute()
    jobs = _jobs()
    assert len(jobs) == before + 2
    assert jobs[-1].params == {"trigger": "auto", "reason": "follow_up"}
    assert jobs[-1].status == "finished" and figures_state().current


def test_a_savepoint_rolled_back_with_its_job_leaves_the_commit_to_ask_again(hub, app):
    """A change whose recompute Job was made inside a savepoint that rolled back (a service's
    ``transaction.attempt``) still gets one when the transaction commits."""
    before = len(_jobs())
    nested = db.session.begin_nested()
    schedule_recompute(reason="chain_role")
    nested.rollback()
    db.session.commit()
    jobs = _jobs()
    assert len(jobs) == before + 1 and jobs[-1].params["reason"] == "chain_role"
    assert figures_state().current


def test_each_writer_of_the_network_notes_its_change(hub, admin, app, monkeypatch):
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import update_organisation
    from sdd_crm.valuechains.criticality_services import save_settings

    monkeypatch.setitem(app.config, "CRITICALITY_AUTO_RECOMPUTE", False)
    supplier, _links = hub
    update_organisation(db.session.get(Organisation, supplier.id), {"employees": 900},
                        actor=admin, partial=True)
    db.session.commit()
    assert figures_state().what_changed == "organisations"
    recompute()
    save_settings({"employment": 1, "sole_source": 1, "bridging": 1, "breadth": 1,
                   "threshold": 0.7}, actor=admin)
    db.session.commit()
    state = figures_state()
    assert state.stale and state.what_changed == "settings"


# --- what the pages say -------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_the_critical_list_says_when_its_figures_are_stale_to_every_role(
        hub, client, login, make_user, role, app, monkeypatch):
    monkeypatch.setitem(app.config, "CRITICALITY_AUTO_RECOMPUTE", True)
    monkeypatch.setitem(app.config, "CRITICALITY_RECOMPUTE_DELAY", 60)
    _supplier, links = hub
    with app.test_request_context():  # an edit in the web: the recompute waits a minute
        for row in links:
            row.sole_source = True
        schedule_recompute(reason="supply_link")
        db.session.commit()
    login(make_user(role))
    page = text(client.get("/chains/critical"))
    computed = figures_state().computed_at
    assert STALE in page and WAITING in page
    assert "De kritikaliteit is berekend op" in page
    html = client.get("/chains/critical").get_data(as_text=True)
    assert 'role="status"' in html and 'data-figures="stale"' in html
    assert (BUTTON in page) == (role in ("admin", "regional_account_manager"))
    assert computed is not None

    outbox.dispatch(now=utcnow() + dt.timedelta(minutes=2))  # the dispatcher, a minute later
    page = text(client.get("/chains/critical"))
    assert STALE not in page and "Auto Leverancier" in page
    assert 'data-figures="current"' in client.get("/chains/critical").get_data(as_text=True)


def test_missing_figures_are_said_on_every_page_that_shows_criticality(
        client, login, make_user, make_org, admin):
    org = make_org(admin, name="Auto Ongeteld", kvk_number="71000299", employees=10)
    chain = make_chain("Signaalketen Ongeteld")
    db.session.commit()
    login(make_user("regional_account_manager"))
    for url in ("/chains/critical", f"/organisations/{org.id}",
                f"/chains/criticality/{org.id}", f"/chains/{chain.id}"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        page = text(resp)
        assert MISSING in page, url
        assert 'data-figures="missing"' in resp.get_data(as_text=True), url
    recompute()
    for url in ("/chains/critical", f"/organisations/{org.id}",
                f"/chains/criticality/{org.id}", f"/chains/{chain.id}"):
        html = client.get(url).get_data(as_text=True)
        assert MISSING not in html and 'data-figures="stale"' not in html, url


def test_the_viewer_dashboard_says_it_too(client, login, make_user):
    login(make_user("viewer"))
    assert MISSING in text(client.get("/"))
    recompute()
    assert MISSING not in text(client.get("/"))


def test_a_failed_recompute_is_said_plainly(hub, client, login, make_user, app, monkeypatch):
    from sdd_crm.valuechains import criticality_store

    def broken(**_kwargs):
        raise RuntimeError("kapot")

    monkeypatch.setattr(criticality_store, "run_assessment", broken)
    schedule_recompute(reason="supply_link")
    db.session.commit()  # the inline job fails right after the commit (logged, marked failed)
    state = figures_state()
    assert state.stale and state.failed and not state.pending
    login(make_user("viewer"))
    page = text(client.get("/chains/critical"))
    assert "De laatste herberekening is mislukt" in page and BUTTON not in page


def test_the_notice_costs_one_query(hub, client, login, make_user, count_queries):
    login(make_user("viewer"))
    client.get("/chains/critical")
    with count_queries() as current:
        client.get("/chains/critical")
    with app_changed(), count_queries() as stale:
        client.get("/chains/critical")
    assert stale.count == current.count


class app_changed:
    """A noted change (stale figures) for the length of the block."""

    def __enter__(self):
        db.session.execute(sa.update(CriticalityState).values(
            network_version=CriticalityState.network_version + 1))
        db.session.commit()

    def __exit__(self, *exc):
        return False


def test_the_recompute_button_keeps_the_user_on_the_page(hub, app, client, login, make_user):
    supplier, _links = hub
    with app_changed():
        pass
    viewer = login(make_user("viewer"), c=app.test_client())
    assert "Een beheerder kan de kritikaliteit opnieuw laten berekenen." in text(
        viewer.get(f"/organisations/{supplier.id}"))
    assert BUTTON not in text(viewer.get(f"/organisations/{supplier.id}"))
    assert viewer.post("/chains/criticality/recompute").status_code == 403
    assert figures_state().stale
    login(make_user("regional_account_manager"))
    assert BUTTON in text(client.get(f"/organisations/{supplier.id}"))
    resp = client.post("/chains/criticality/recompute",
                       data={"next": f"/organisations/{supplier.id}"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/organisations/{supplier.id}")
    assert figures_state().current


def test_the_migration_counts_an_earlier_computation_as_current(tmp_path):
    """A database that already holds a recompute does not show "nog niet berekend" after the
    upgrade: its last finished recompute's start is when the figures were computed."""
    from flask_migrate import downgrade, upgrade
    from test_backup import app_on  # an app on a database of its own

    url = "sqlite:///" + str(tmp_path / "migrated.sqlite3")
    with app_on(url):
        upgrade(revision="c13000000001")
        started = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
        db.session.execute(sa.text(
            "INSERT INTO job (id, kind, status, progress, params, started_at, created_at) "
            "VALUES ('earlier', 'criticality_recompute', 'finished', 100, '{}', :at, :at)"),
            {"at": started.strftime("%Y-%m-%d %H:%M:%S.%f")})
        db.session.commit()
        upgrade(revision="d14000000001")
        state = figures_state()
        assert state.current and state.computed_at == started
        downgrade(revision="c13000000001")
        assert "criticality_state" not in sa.inspect(db.engine).get_table_names()

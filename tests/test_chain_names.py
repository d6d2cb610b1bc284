"""The organisation names copied onto chain roles and supply links (issue 12: a chain page sorts
its thousands of roles and links by name through an index, migration b12000000007).

The database writes the copies (triggers), so they must be right whoever writes the rows: the
ORM, a Core insert as the seeds and the import use, raw SQL, a rename in the app or by SQL, a
merge that moves the roles and links to the surviving organisation. Runs on SQLite and, with
``TEST_DATABASE_URL``, on PostgreSQL (each has its own triggers).
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from insight_support import add_link, add_role, make_chain

from sdd_crm.extensions import db
from sdd_crm.organisations.merge import merge_organisations
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import update_organisation
from sdd_crm.valuechains import queries
from sdd_crm.valuechains.models import ChainRole, SupplyLink


def _org(name: str) -> Organisation:
    org = Organisation(name=name, org_type="company", size_class="small", city="Dordrecht",
                       municipality_code="GM0505")
    db.session.add(org)
    db.session.flush()
    return org


def _wrong_copies() -> list:
    """Every role and link whose copied name differs from its organisation's name now."""
    supplier, customer = sa.orm.aliased(Organisation), sa.orm.aliased(Organisation)
    roles = db.session.execute(
        sa.select(ChainRole.id, ChainRole.organisation_name, Organisation.name)
        .join(Organisation, Organisation.id == ChainRole.organisation_id)
        .where(ChainRole.organisation_name.is_distinct_from(Organisation.name))).all()
    links = db.session.execute(
        sa.select(SupplyLink.id, SupplyLink.supplier_name, SupplyLink.customer_name)
        .join(supplier, supplier.id == SupplyLink.supplier_id)
        .join(customer, customer.id == SupplyLink.customer_id)
        .where(sa.or_(SupplyLink.supplier_name.is_distinct_from(supplier.name),
                      SupplyLink.customer_name.is_distinct_from(customer.name)))).all()
    return roles + links


def _role_name(role_id: int) -> str | None:
    return db.session.scalar(sa.select(ChainRole.organisation_name).where(ChainRole.id == role_id))


@pytest.fixture
def chain_with_members(app):
    chain = make_chain("Naamketen", ["Eerst", "Dan"])
    a, b, c = _org("Bakkerij Aa B.V."), _org("Coating Bee B.V."), _org("Draaierij Cee B.V.")
    roles = [add_role(a, chain, "Eerst"), add_role(b, chain, "Eerst"), add_role(c, chain, "Dan")]
    links = [add_link(a, b, chain), add_link(b, c, chain)]
    db.session.commit()
    return chain, (a, b, c), roles, links


def test_rows_written_by_the_orm_carry_their_organisations_names(chain_with_members):
    _chain, (a, b, _c), roles, links = chain_with_members
    assert _role_name(roles[0].id) == "Bakkerij Aa B.V."
    assert db.session.execute(
        sa.select(SupplyLink.supplier_name, SupplyLink.customer_name)
        .where(SupplyLink.id == links[0].id)).one() == (a.name, b.name)
    assert _wrong_copies() == []


def test_rows_written_by_core_and_raw_sql_carry_the_names_too(chain_with_members):
    chain, (a, b, c), _roles, _links = chain_with_members
    d = _org("Elektro Dee B.V.")
    db.session.execute(sa.insert(ChainRole), [
        {"organisation_id": d.id, "value_chain_id": chain.id, "role": "tier2",
         "stage_id": chain.stages[1].id}])
    db.session.execute(sa.insert(SupplyLink), [
        {"supplier_id": c.id, "customer_id": d.id, "value_chain_id": chain.id,
         "sole_source": False, "version": 1}])
    db.session.execute(sa.text(
        "INSERT INTO supply_link (supplier_id, customer_id, value_chain_id, sole_source, version, "
        "created_at, updated_at) VALUES (:s, :c, :v, false, 1, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP)"), {"s": d.id, "c": a.id, "v": chain.id})
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SupplyLink)
                             .where(SupplyLink.customer_name == "Elektro Dee B.V.")) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SupplyLink)
                             .where(SupplyLink.supplier_name == "Elektro Dee B.V.")) == 1
    assert _wrong_copies() == []


def test_a_rename_in_the_app_or_by_sql_rewrites_every_copy(chain_with_members, make_user):
    _chain, (a, b, c), roles, _links = chain_with_members
    admin = make_user(role="admin")
    update_organisation(b, {"name": "Zeefdruk Bee B.V."}, actor=admin, partial=True)
    db.session.commit()
    assert _role_name(roles[1].id) == "Zeefdruk Bee B.V."
    db.session.execute(sa.text("UPDATE organisation SET name = 'Aandrijving Cee B.V.' WHERE id = :id"),
                       {"id": c.id})
    db.session.commit()
    assert _role_name(roles[2].id) == "Aandrijving Cee B.V."
    assert _wrong_copies() == []


def test_a_merge_gives_the_moved_roles_and_links_the_survivors_name(chain_with_members, make_user):
    _chain, (a, b, c), roles, _links = chain_with_members
    admin = make_user(role="admin")
    merge_organisations(c, a, actor=admin)
    db.session.commit()
    moved = db.session.get(ChainRole, roles[0].id)
    assert moved.organisation_id == c.id
    assert _role_name(roles[0].id) == "Draaierij Cee B.V."
    assert _wrong_copies() == []


def test_the_chain_page_follows_a_rename_in_its_order(chain_with_members, client, login, make_user):
    chain, (a, b, _c), _roles, _links = chain_with_members
    user = make_user(role="admin")
    login(user)

    def first_stage_names():
        html = client.get(f"/chains/{chain.id}").get_data(as_text=True)
        stage = html.split('id="fase-', 2)[1].split("</section>")[0]
        return re.findall(r'href="/organisations/\d+">([^<]+)</a>', stage)

    assert first_stage_names() == ["Bakkerij Aa B.V.", "Coating Bee B.V."]
    update_organisation(b, {"name": "Aannemer Bee B.V."}, actor=user, partial=True)
    db.session.commit()
    assert first_stage_names() == ["Aannemer Bee B.V.", "Bakkerij Aa B.V."]
    previews = queries.stage_previews(chain, per_stage=1)
    assert [r.organisation.name for r in previews[chain.stages[0].id].roles] == ["Aannemer Bee B.V."]
    assert previews[chain.stages[0].id].total == 2


def test_the_chain_page_reads_its_roles_and_links_by_the_name_indexes(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner (PostgreSQL plans by its statistics)")
    chain = make_chain("Planketen", ["Een"])
    for stmt, index in (
            (queries.supply_link_list(value_chain_id=chain.id, by_name=True)
             .with_only_columns(SupplyLink.id), "ix_supply_link_chain_names"),
            (queries.supply_link_list(by_name=True).with_only_columns(SupplyLink.id),
             "ix_supply_link_names")):
        compiled = stmt.limit(21).compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[-1] for r in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert index in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan

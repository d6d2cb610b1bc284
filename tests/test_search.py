"""'KvK or name' search is one rule (organisations.queries.kvk_or_name), and it follows merged
records everywhere: the old KvK number or name of a merged duplicate finds the survivor."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.interactions.queries import InteractionFilters, interaction_list, organisation_matches
from sdd_crm.interactions.services import create_interaction
from sdd_crm.organisations.merge import merge_organisations
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.queries import final_survivor, kvk_or_name, with_merged_records


@pytest.fixture
def merged_pair(make_user, make_org):
    admin = make_user(role="admin")
    survivor = make_org(name="Werf Nieuw B.V.", kvk_number="12345678")
    merged = make_org(name="Scheepsbouw Oud B.V.", kvk_number="87654321")
    merge_organisations(survivor, merged, actor=admin)
    db.session.commit()
    return admin, survivor, merged


def _ids(condition) -> list[int]:
    return list(db.session.scalars(sa.select(Organisation.id).where(condition)))


def test_the_old_kvk_number_and_name_find_the_survivor(merged_pair):
    _admin, survivor, merged = merged_pair
    assert _ids(kvk_or_name("8765 4321")) == [survivor.id]
    assert survivor.id in _ids(kvk_or_name("scheepsbouw oud"))
    assert [o.id for o in organisation_matches("87654321")] == [survivor.id]
    assert [o.id for o in organisation_matches("Scheepsbouw")] == [survivor.id]


def test_the_interaction_filter_follows_merged_records(merged_pair):
    admin, survivor, _merged = merged_pair
    interaction = create_interaction({"organisation_id": survivor.id, "type": "visit",
                                      "date": dt.date(2025, 3, 1).isoformat(),
                                      "subject": "Kennismaking"}, actor=admin)
    db.session.commit()
    for text in ("87654321", "Scheepsbouw Oud", "12345678", "werf nieuw"):
        found = db.session.scalars(interaction_list(admin, InteractionFilters(organisation=text)))
        assert [i.id for i in found] == [interaction.id], text


def test_the_survivor_walk_and_its_reverse(merged_pair):
    _admin, survivor, merged = merged_pair
    assert final_survivor(merged) is survivor
    assert final_survivor(survivor) is survivor
    assert with_merged_records({survivor.id}) == {survivor.id, merged.id}

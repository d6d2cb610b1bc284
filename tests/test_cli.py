"""The command-line interface other programs rely on (DESIGN 5): users and reference seeds."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from sdd_crm.auth.models import ApiToken, User
from sdd_crm.auth.services import authenticate, user_for_token
from sdd_crm.extensions import db
from sdd_crm.programmes.models import Programme
from sdd_crm.reference.models import Municipality, Place, SbiCode
from sdd_crm.reference.services import CLUSTERS, DRECHTSTEDEN
from sdd_crm.valuechains.models import Cluster

PASSWORD = "een lang genoeg wachtwoord"


def _users(email: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == email))


def _create(runner, *extra, email="nieuw@example.nl", role="regional_account_manager"):
    return runner.invoke(args=["users", "create", "--email", email, "--name", "Nieuwe Collega",
                               "--role", role, "--password", PASSWORD, *extra])


# --- users create ----------------------------------------------------------------------------

def test_users_create_makes_a_user_who_can_sign_in(runner):
    result = _create(runner, "--municipality", "GM0610", email="Anne.de.Wit@Example.nl",
                     role="local_account_manager")
    assert result.exit_code == 0, result.output
    assert "anne.de.wit@example.nl aangemaakt" in result.output
    user = db.session.scalar(sa.select(User).where(User.email == "anne.de.wit@example.nl"))
    assert (user.role, user.municipality_code, user.active) == ("local_account_manager", "GM0610", True)
    assert user.password_hash and PASSWORD not in user.password_hash
    assert authenticate("anne.de.wit@example.nl", PASSWORD) is user


def test_users_create_refuses_a_duplicate_email_in_dutch(runner):
    assert _create(runner).exit_code == 0
    result = _create(runner, email="NIEUW@example.nl")
    assert result.exit_code != 0
    assert "Er bestaat al een gebruiker met dit e-mailadres." in result.output
    assert _users("nieuw@example.nl") == 1


def test_a_local_account_manager_needs_a_municipality(runner):
    result = _create(runner, role="local_account_manager")
    assert result.exit_code != 0
    assert "Een lokaal accountmanager hoort bij een gemeente." in result.output
    assert _users("nieuw@example.nl") == 0


def test_users_create_refuses_an_unknown_municipality(runner):
    result = _create(runner, "--municipality", "GM9999", role="local_account_manager")
    assert result.exit_code != 0 and "Onbekende gemeente." in result.output
    assert _users("nieuw@example.nl") == 0


def test_users_create_refuses_a_bad_role(runner):
    result = _create(runner, role="superuser")
    assert result.exit_code != 0
    assert "superuser" in result.output
    assert _users("nieuw@example.nl") == 0


def test_users_create_refuses_a_short_password(runner):
    result = runner.invoke(args=["users", "create", "--email", "kort@example.nl", "--name", "Kort",
                                 "--role", "viewer", "--password", "kort"])
    assert result.exit_code != 0
    assert "minstens 12 tekens" in result.output
    assert _users("kort@example.nl") == 0


def test_users_create_refuses_a_bad_email(runner):
    result = _create(runner, email="geen-adres")
    assert result.exit_code != 0
    assert "Vul een geldig e-mailadres in." in result.output
    assert _users("geen-adres") == 0


# --- users token / revoke-tokens -------------------------------------------------------------

def test_users_token_prints_a_token_that_authenticates_and_is_stored_hashed(runner, make_user):
    user = make_user("business_developer")
    result = runner.invoke(args=["users", "token", user.email])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert len(token) >= 32
    assert user_for_token(token) == user
    record = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert record.token_hash != token
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # The token works against the API too.
    from flask import current_app

    resp = current_app.test_client().get("/api/v1/organisations",
                                         headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200


def test_each_token_is_new(runner, make_user):
    user = make_user()
    first = runner.invoke(args=["users", "token", user.email]).output.strip()
    second = runner.invoke(args=["users", "token", user.email]).output.strip()
    assert first != second and user_for_token(first) == user_for_token(second) == user


def test_users_token_for_an_unknown_email_fails(runner):
    result = runner.invoke(args=["users", "token", "niemand@example.nl"])
    assert result.exit_code != 0
    assert "Geen actieve gebruiker met e-mailadres niemand@example.nl." in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_users_token_for_an_inactive_user_fails(runner, make_user):
    user = make_user()
    user.active = False
    db.session.commit()
    result = runner.invoke(args=["users", "token", user.email])
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)
                             .where(ApiToken.user_id == user.id)) == 0


def test_users_revoke_tokens_stops_every_token(runner, make_user):
    user, other = make_user(), make_user()
    tokens = [runner.invoke(args=["users", "token", user.email]).output.strip() for _ in range(2)]
    kept = runner.invoke(args=["users", "token", other.email]).output.strip()
    result = runner.invoke(args=["users", "revoke-tokens", user.email])
    assert result.exit_code == 0
    assert "2 token(s) ingetrokken." in result.output
    assert [user_for_token(t) for t in tokens] == [None, None]
    assert user_for_token(kept) == other  # someone else's tokens are untouched


def test_users_revoke_tokens_for_an_unknown_email_fails(runner):
    result = runner.invoke(args=["users", "revoke-tokens", "niemand@example.nl"])
    assert result.exit_code != 0
    assert "Geen gebruiker met e-mailadres niemand@example.nl." in result.output


# --- seed reference --------------------------------------------------------------------------

def _reference_counts() -> dict:
    def count(model):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))

    return {m.__name__: count(m) for m in (Municipality, Place, SbiCode, Cluster, Programme)}


def test_seed_reference_twice_gives_the_same_data_and_no_duplicates(runner):
    first = runner.invoke(args=["seed", "reference"])
    assert first.exit_code == 0, first.output
    counts = _reference_counts()
    second = runner.invoke(args=["seed", "reference"])
    assert second.exit_code == 0
    assert second.output == first.output
    assert _reference_counts() == counts
    assert counts["Municipality"] == 9
    assert counts["Cluster"] == len(CLUSTERS) >= 7
    names = set(db.session.scalars(sa.select(Cluster.name)))
    assert {"Maritieme maakindustrie", "Energietransitie", "Bouw & installatie", "Smart manufacturing",
            "Delta-technologie", "Zorginnovatie", "Logistiek & digital mainport"} <= names
    heerjansdam = sa.select(Place.municipality_code).where(Place.name == "Heerjansdam")
    assert db.session.scalar(heerjansdam) == "GM0642"
    assert "municipalities: 9" in first.output


def test_seed_reference_loads_scale_with_its_target_and_region(runner):
    assert runner.invoke(args=["seed", "reference"]).exit_code == 0
    codes = set(db.session.scalars(sa.select(Programme.code)))
    assert {"scale", "regio-deal", "maritiem-masterplan"} <= codes
    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    assert [t.value for t in scale.targets] == [1000]
    assert "Nationaal Groeifonds" in scale.funder
    region = {m.code for m in scale.municipalities}
    assert region == set(DRECHTSTEDEN)
    assert len(region) == 7
    members = set(db.session.scalars(sa.select(Municipality.code).where(Municipality.drechtsteden_member)))
    assert region == members

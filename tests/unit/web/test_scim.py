"""SCIM filter parsing/evaluation, PATCH application and User mapping (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.entities import User
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.web.errors import ScimError
from chalicelib.web.scim.filters import parse_filter
from chalicelib.web.scim.patch import PATCH_SCHEMA, apply_patch
from chalicelib.web.scim.users import USER_ATTRIBUTES, USER_FILTERS, USER_SCHEMA, parse_user, to_scim_user


def scim_user(**profile: Any) -> dict[str, Any]:
    user = User(
        tenant_id=TenantId("t"),
        user_id=UserId("u1"),
        email="bjensen@example.com",
        email_verified=True,
        status="active",
        profile={"given_name": "Barbara", "family_name": "Jensen", **profile},
        tier_node_id=NodeId("root"),
        created_at=1_700_000_000,
        updated_at=1_700_000_100,
        external_id="Ext-1",
    )
    return to_scim_user(user, "https://id.example/t/t/scim/v2")


def matches(expression: str, resource: dict[str, Any] | None = None) -> bool:
    return parse_filter(expression, USER_FILTERS)(resource or scim_user())


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "BJensen@Example.com"', True),
        ('userName ne "bjensen@example.com"', False),
        ('userName co "jensen@"', True),
        ('userName sw "bj"', True),
        ('userName ew ".com"', True),
        ('userName sw "x"', False),
        ("userName pr", True),
        ("nickName pr", False),
        ('externalId eq "Ext-1"', True),
        ('externalId eq "ext-1"', False),
        ('id eq "U1"', False),
        ("active eq true", True),
        ("active eq false", False),
        ('emails.value eq "bjensen@example.com"', True),
        ('emails co "jensen"', True),
        ('emails[type eq "work" and primary eq true]', True),
        ('emails[type eq "home"]', False),
        ('name.givenName eq "barbara" and name.familyName sw "jen"', True),
        ('name.givenName eq "x" or name.familyName eq "jensen"', True),
        ('name.givenName eq "x" or (name.familyName eq "jensen" and active eq false)', False),
        ('not (userName eq "x")', True),
        ('NOT (userName EQ "bjensen@example.com")', False),
        ('meta.lastModified gt "2023-11-14T22:13:00Z"', True),
        ('meta.created lt "2023-01-01T00:00:00Z"', False),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com"', True),
        ('userName eq "a" or userName eq "b" and active eq true', False),
    ],
)
def test_filters(expression: str, expected: bool) -> None:
    assert matches(expression) is expected


def test_and_binds_tighter_than_or() -> None:
    assert matches('userName eq "bjensen@example.com" or userName eq "x" and active eq false')


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "userName",
        "userName eq",
        'userName eq "a" extra',
        'userName like "a"',
        'password eq "secret"',
        'userName eq ["a"]',
        '(userName eq "a"',
        'emails[type eq "work"',
        'emails[type eq "work" and emails[value pr]]',
        "userName eq 'single quoted'",
        "(" * 30 + "userName pr" + ")" * 30,
    ],
)
def test_invalid_filters(expression: str) -> None:
    with pytest.raises(ScimError) as raised:
        matches(expression)
    assert raised.value.status == 400 and raised.value.scim_type == "invalidFilter"


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def test_patch_operations() -> None:
    original = scim_user()
    patched = apply_patch(
        original,
        patch(
            {"op": "replace", "path": "active", "value": False},
            {"op": "add", "path": "NAME.middleName", "value": "Ann"},
            {"op": "remove", "path": "externalId"},
            {"op": "replace", "value": {"displayName": "Babs", "name": {"givenName": "Barb"}}},
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@example.com"},
        ),
        USER_ATTRIBUTES,
        USER_FILTERS,
    )
    assert original == scim_user()  # the input is not modified
    assert patched["active"] is False
    assert patched["name"]["middleName"] == "Ann"
    assert patched["name"]["givenName"] == "Barb" and patched["name"]["familyName"] == "Jensen"
    assert "externalId" not in patched
    assert patched["displayName"] == "Babs"
    assert patched["emails"] == [{"value": "new@example.com", "type": "work", "primary": True}]


def test_patch_remove_with_a_value_filter_removes_the_matching_values() -> None:
    patched = apply_patch(
        scim_user(), patch({"op": "remove", "path": 'emails[type eq "work"]'}), USER_ATTRIBUTES, USER_FILTERS
    )
    assert patched["emails"] == []


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": [{"op": "remove", "path": "active"}]}, "invalidSyntax"),
        (patch(), "invalidSyntax"),
        (patch({"op": "copy", "path": "active"}), "invalidSyntax"),
        (patch({"op": "remove"}), "noTarget"),
        (patch({"op": "replace", "path": "id", "value": "x"}), "mutability"),
        (patch({"op": "replace", "path": "nope", "value": "x"}), "invalidPath"),
        (patch({"op": "replace", "path": "name.nope", "value": "x"}), "invalidPath"),
        (patch({"op": "replace", "path": "active[type eq 1]", "value": "x"}), "invalidPath"),
        (patch({"op": "replace", "path": "emails.value", "value": "x"}), "invalidPath"),
        (patch({"op": "replace", "path": 'emails[type eq "home"].value', "value": "x"}), "noTarget"),
        (patch({"op": "replace", "path": "active"}), "invalidValue"),
        (patch({"op": "replace", "value": "not an object"}), "invalidValue"),
    ],
)
def test_invalid_patches(body: dict[str, Any], scim_type: str) -> None:
    with pytest.raises(ScimError) as raised:
        apply_patch(scim_user(), body, USER_ATTRIBUTES, USER_FILTERS)
    assert raised.value.status == 400 and raised.value.scim_type == scim_type


def test_the_representation_parses_back_to_the_same_account() -> None:
    data, password = parse_user(scim_user(name="Babs", nickname="B"))
    assert password is None
    assert data.email == "bjensen@example.com" and data.active and data.external_id == "Ext-1"
    assert {k: v for k, v in data.profile.items() if v} == {
        "given_name": "Barbara",
        "family_name": "Jensen",
        "name": "Babs",
        "nickname": "B",
    }


def test_attribute_names_are_case_insensitive_and_active_accepts_strings() -> None:
    data, password = parse_user(
        {"schemas": [USER_SCHEMA], "USERNAME": "a@example.com", "Active": "False", "PassWord": "pw", "NAME": {}}
    )
    assert data.email == "a@example.com" and data.active is False and password == "pw"


def test_only_slugs_reach_the_challenge_realm() -> None:
    from chalicelib.web.errors import safe_realm

    assert safe_realm("demo") == "demo"
    assert safe_realm('evil", x="y') == "gatehouse"
    assert safe_realm("a\r\nSet-Cookie: x") == "gatehouse"
    assert safe_realm("") == "gatehouse"

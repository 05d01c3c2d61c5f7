"""SCIM 2.0 Users over real HTTP (RFC 7644 §3): create, read, list with filters and pages, replace, patch,
delete, discovery documents and SCIM error responses."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.admin.conftest import Scim

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def new_user(**extra: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    body: dict[str, Any] = {
        "schemas": [USER],
        "userName": f"scim-{tag}@example.org",
        "externalId": f"hr-{tag}",
        "name": {"givenName": "Barbara", "familyName": f"Jensen{tag}"},
        "displayName": "Babs Jensen",
        "emails": [{"value": f"scim-{tag}@example.org", "type": "work", "primary": True}],
        "active": True,
    }
    body.update(extra)
    return body


def assert_scim_error(response: requests.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/scim+json")
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type
    return body


@pytest.fixture
def created(scim: Scim) -> dict[str, Any]:
    response = scim.post("/Users", new_user())
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_create_returns_the_resource_with_meta_and_location(scim: Scim, live_server: str) -> None:
    body = new_user(password="Correct-Horse-Battery-9")
    response = scim.post("/Users", body)
    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].startswith("application/scim+json")
    user = response.json()
    assert user["schemas"] == [USER]
    assert user["userName"] == body["userName"]
    assert user["externalId"] == body["externalId"]
    assert user["name"]["givenName"] == "Barbara"
    assert user["name"]["formatted"] == f"Barbara {body['name']['familyName']}"
    assert user["displayName"] == "Babs Jensen"
    assert user["active"] is True
    assert user["emails"] == [{"value": body["userName"], "type": "work", "primary": True}]
    assert "password" not in user
    meta = user["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"] == f"{live_server}/t/demo/scim/v2/Users/{user['id']}"
    assert response.headers["Location"] == meta["location"]
    assert meta["created"].endswith("Z") and meta["lastModified"].endswith("Z")
    assert "version" not in meta  # ETags are not advertised, so no version either


def test_a_provisioned_user_is_a_real_account(scim: Scim) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    body = new_user(
        password="Correct-Horse-Battery-9", userName=f"Mixed-{uuid.uuid4().hex[:8]}@Example.org", emails=None
    )
    user = scim.post("/Users", body).json()
    account = container.accounts().find_by_email(TenantId("demo"), body["userName"])
    assert account.user_id == user["id"]
    assert account.email == body["userName"].lower() == user["userName"]
    assert account.status == "active" and account.email_verified
    assert account.external_id == body["externalId"]
    assert account.profile["given_name"] == "Barbara"


def test_read_by_id(scim: Scim, created: dict[str, Any]) -> None:
    response = scim.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


def test_unknown_user_is_a_scim_404(scim: Scim) -> None:
    assert_scim_error(scim.get(f"/Users/{uuid.uuid4()}"), 404)
    assert_scim_error(scim.delete(f"/Users/{uuid.uuid4()}"), 404)
    assert_scim_error(scim.put(f"/Users/{uuid.uuid4()}", new_user()), 404)


def test_duplicate_user_name_is_a_uniqueness_conflict_regardless_of_case(scim: Scim, created: dict[str, Any]) -> None:
    again = new_user(userName=created["userName"].upper(), emails=None)
    assert_scim_error(scim.post("/Users", again), 409, "uniqueness")


@pytest.mark.parametrize(
    ("change", "scim_type"),
    [
        ({"userName": "not-an-email"}, "invalidValue"),
        ({"userName": None}, "invalidValue"),
        ({"active": "maybe"}, "invalidValue"),
        ({"schemas": ["urn:example:other"]}, "invalidSyntax"),
        ({"emails": [{"value": "someone-else@example.org", "primary": True}]}, "invalidValue"),
        ({"password": "short"}, "invalidValue"),
    ],
)
def test_invalid_input_is_a_400_with_scim_type(scim: Scim, change: dict[str, Any], scim_type: str) -> None:
    assert_scim_error(scim.post("/Users", new_user(**change)), 400, scim_type)


def test_malformed_json_and_wrong_content_type(scim: Scim) -> None:
    assert_scim_error(scim.post("/Users", "{not json"), 400, "invalidSyntax")
    response = scim.request("POST", "/Users", "userName=x", headers={"Content-Type": "text/plain"})
    assert_scim_error(response, 415)


def test_plain_application_json_is_accepted(scim: Scim) -> None:
    response = scim.request("POST", "/Users", new_user(), headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


def _ids(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schemas"] == [LIST]
    return [r["id"] for r in body["Resources"]]


def test_filters(scim: Scim) -> None:
    tag = uuid.uuid4().hex[:8]
    alice = scim.post(
        "/Users",
        new_user(
            userName=f"alice.{tag}@example.org",
            emails=None,
            externalId=f"ext-alice-{tag}",
            name={"givenName": f"Alice{tag}", "familyName": "Smith"},
        ),
    ).json()
    bob = scim.post(
        "/Users",
        new_user(
            userName=f"bob.{tag}@example.net",
            emails=None,
            externalId=f"ext-bob-{tag}",
            name={"givenName": f"Bob{tag}", "familyName": "Smith"},
            active=False,
        ),
    ).json()
    assert bob["active"] is False

    def ids(expression: str) -> set[str]:
        return set(_ids(scim.get("/Users", params={"filter": expression})))

    both = {alice["id"], bob["id"]}
    assert ids(f'userName eq "ALICE.{tag}@EXAMPLE.ORG"') == {alice["id"]}  # userName is case-insensitive
    assert ids(f'userName co "{tag}"') == both
    assert ids(f'userName sw "bob.{tag}"') == {bob["id"]}
    assert ids(f'emails.value eq "bob.{tag}@example.net"') == {bob["id"]}
    assert ids(f'emails[type eq "work" and value co "alice.{tag}"]') == {alice["id"]}
    assert ids(f'name.givenName eq "alice{tag}"') == {alice["id"]}
    assert ids(f'name.familyName eq "smith" and userName co "{tag}"') == both
    assert ids(f'externalId eq "ext-bob-{tag}"') == {bob["id"]}
    assert ids(f'externalId eq "EXT-BOB-{tag}"') == set()  # externalId is case-exact
    assert ids(f'userName co "{tag}" and active eq false') == {bob["id"]}
    assert ids(f'userName co "{tag}" and active eq true') == {alice["id"]}
    assert ids(f'externalId eq "ext-alice-{tag}" or externalId eq "ext-bob-{tag}"') == both
    assert ids(f'userName co "{tag}" and not (active eq true)') == {bob["id"]}
    assert ids(f'(userName sw "alice.{tag}" or userName sw "bob.{tag}") and name.givenName pr') == both
    assert ids(f'userName co "{tag}" and urn:ietf:params:scim:schemas:core:2.0:User:active eq false') == {bob["id"]}
    assert ids(f'userName co "{tag}" and externalId pr') == both
    assert ids(f'userName co "{tag}" and nickName pr') == set()


@pytest.mark.parametrize(
    "expression",
    ["userName eq", 'userName xx "a"', 'password eq "x"', '(userName eq "a"', 'userName eq "a" and', "emails[value"],
)
def test_bad_filters_are_invalid_filter(scim: Scim, expression: str) -> None:
    assert_scim_error(scim.get("/Users", params={"filter": expression}), 400, "invalidFilter")


def test_pagination(scim: Scim) -> None:
    tag = uuid.uuid4().hex[:8]
    made = [
        scim.post("/Users", new_user(userName=f"page{i}.{tag}@example.org", emails=None)).json()["id"] for i in range(5)
    ]
    query = f'userName co "{tag}"'
    everything = scim.get("/Users", params={"filter": query}).json()
    assert everything["totalResults"] == 5 and everything["startIndex"] == 1
    ordered = [r["id"] for r in everything["Resources"]]
    assert sorted(ordered) == sorted(made)  # a stable order (oldest first; ties by id), so pages never overlap
    pages = []
    for start in (1, 3, 5):
        page = scim.get("/Users", params={"filter": query, "startIndex": start, "count": 2}).json()
        assert page["totalResults"] == 5
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"])
        pages.extend(r["id"] for r in page["Resources"])
    assert pages == ordered
    beyond = scim.get("/Users", params={"filter": query, "startIndex": 9}).json()
    assert beyond["Resources"] == [] and beyond["totalResults"] == 5
    zero = scim.get("/Users", params={"filter": query, "count": 0}).json()
    assert zero["totalResults"] == 5 and zero["Resources"] == []
    below_one = scim.get("/Users", params={"filter": query, "startIndex": -3, "count": 1}).json()
    assert below_one["startIndex"] == 1 and [r["id"] for r in below_one["Resources"]] == ordered[:1]
    assert_scim_error(scim.get("/Users", params={"count": "many"}), 400, "invalidValue")


def test_replace_with_put(scim: Scim, created: dict[str, Any]) -> None:
    new_email = f"moved-{uuid.uuid4().hex[:8]}@example.org"
    body = {
        "schemas": [USER],
        "userName": new_email,
        "name": {"givenName": "Barb"},
        "active": False,
    }
    response = scim.put(f"/Users/{created['id']}", body)
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["id"] == created["id"]
    assert user["userName"] == new_email
    assert user["name"] == {"givenName": "Barb", "formatted": "Barb"}
    assert "displayName" not in user and "externalId" not in user  # PUT replaces: omitted values are cleared
    assert user["active"] is False
    assert scim.get(f"/Users/{created['id']}").json() == user
    # the old address is free again, the new one is taken
    assert scim.post("/Users", new_user(userName=created["userName"], emails=None)).status_code == 201
    assert_scim_error(scim.post("/Users", new_user(userName=new_email, emails=None)), 409, "uniqueness")


def test_put_to_a_taken_user_name_is_a_uniqueness_conflict(scim: Scim, created: dict[str, Any]) -> None:
    other = scim.post("/Users", new_user()).json()
    body = {"schemas": [USER], "userName": other["userName"]}
    assert_scim_error(scim.put(f"/Users/{created['id']}", body), 409, "uniqueness")
    assert scim.get(f"/Users/{created['id']}").json()["userName"] == created["userName"]


def patch_ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def test_patch_active_and_attributes(scim: Scim, created: dict[str, Any]) -> None:
    path = f"/Users/{created['id']}"
    response = scim.patch(path, patch_ops({"op": "replace", "path": "active", "value": False}))
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    # Entra ID style: no path, string booleans and dotted keys
    response = scim.patch(
        path,
        patch_ops({"op": "Replace", "value": {"active": "True", "name.givenName": "Barbie", "nickName": "B"}}),
    )
    user = response.json()
    assert user["active"] is True and user["name"]["givenName"] == "Barbie" and user["nickName"] == "B"
    assert user["name"]["familyName"] == created["name"]["familyName"]  # complex values merge
    user = scim.patch(path, patch_ops({"op": "remove", "path": "name.familyName"})).json()
    assert "familyName" not in user["name"]
    user = scim.patch(path, patch_ops({"op": "add", "path": "displayName", "value": "Dr. B"})).json()
    assert user["displayName"] == "Dr. B"
    user = scim.patch(path, patch_ops({"op": "remove", "path": "externalId"})).json()
    assert "externalId" not in user
    assert scim.get(path).json() == user


def test_patch_the_work_email_with_a_value_filter(scim: Scim, created: dict[str, Any]) -> None:
    new_email = f"patched-{uuid.uuid4().hex[:8]}@example.org"
    response = scim.patch(
        f"/Users/{created['id']}",
        patch_ops(
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": new_email},
            {"op": "replace", "path": "userName", "value": new_email},
        ),
    )
    assert response.status_code == 200, response.text
    assert response.json()["userName"] == new_email
    assert response.json()["emails"][0]["value"] == new_email


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "replace", "path": "id", "value": "mine"}, "mutability"),
        ({"op": "replace", "path": "meta", "value": {}}, "mutability"),
        ({"op": "replace", "path": "unknownThing", "value": 1}, "invalidPath"),
        ({"op": "remove"}, "noTarget"),
        ({"op": "replace", "path": 'emails[type eq "home"].value', "value": "x@example.org"}, "noTarget"),
        ({"op": "move", "path": "active", "value": True}, "invalidSyntax"),
        ({"op": "replace", "path": "active", "value": "perhaps"}, "invalidValue"),
        ({"op": "remove", "path": "userName"}, "invalidValue"),
    ],
)
def test_bad_patches_change_nothing(
    scim: Scim, created: dict[str, Any], operation: dict[str, Any], scim_type: str
) -> None:
    path = f"/Users/{created['id']}"
    assert_scim_error(scim.patch(path, patch_ops(operation)), 400, scim_type)
    assert scim.get(path).json() == created


def test_patch_without_the_patch_schema_is_invalid_syntax(scim: Scim, created: dict[str, Any]) -> None:
    body = {"Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert_scim_error(scim.patch(f"/Users/{created['id']}", body), 400, "invalidSyntax")


def test_delete(scim: Scim, created: dict[str, Any]) -> None:
    path = f"/Users/{created['id']}"
    response = scim.delete(path)
    assert response.status_code == 204
    assert_scim_error(scim.get(path), 404)
    assert_scim_error(scim.delete(path), 404)
    # the email guard went with the user: the address can be provisioned again
    assert scim.post("/Users", new_user(userName=created["userName"], emails=None)).status_code == 201


def test_discovery_documents(scim: Scim, live_server: str) -> None:
    config = scim.get("/ServiceProviderConfig")
    assert config.status_code == 200
    assert config.headers["Content-Type"].startswith("application/scim+json")
    spc = config.json()
    assert spc["patch"]["supported"] is True and spc["filter"]["supported"] is True
    assert spc["etag"]["supported"] is False and spc["sort"]["supported"] is False
    assert spc["bulk"]["supported"] is False
    assert spc["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = scim.get("/ResourceTypes").json()
    assert types["totalResults"] == 2
    assert [t["endpoint"] for t in types["Resources"]] == ["/Users", "/Groups"]
    assert scim.get("/ResourceTypes/User").json()["schema"] == USER
    assert scim.get("/ResourceTypes/Group").json()["schema"] == GROUP
    schemas = scim.get("/Schemas").json()
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert [s["id"] for s in schemas["Resources"]] == [USER, enterprise, GROUP]
    user_schema = scim.get(f"/Schemas/{USER}").json()
    names = {a["name"] for a in user_schema["attributes"]}
    assert {"userName", "name", "active", "emails", "password", "displayName"} <= names
    assert_scim_error(scim.get("/Schemas/urn:example:nothing"), 404)
    assert_scim_error(scim.request("DELETE", "/ServiceProviderConfig"), 405)


def test_requests_without_a_valid_token_get_a_401_bearer_challenge(live_server: str, scim: Scim) -> None:
    anonymous = Scim(scim.base, None)
    for response in (
        anonymous.get("/Users"),
        anonymous.get("/ServiceProviderConfig"),
        anonymous.post("/Users", new_user()),
        Scim(scim.base, "not-a-token").get("/Users"),
        Scim(scim.base, scim.token + "x").get("/Users"),  # type: ignore[operator]
    ):
        assert_scim_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_in_the_query_string_is_refused(scim: Scim) -> None:
    response = Scim(scim.base, None).get("/Users", params={"access_token": scim.token})
    assert response.status_code in (400, 401)
    assert response.json()["schemas"] == [ERROR]


def test_a_token_without_the_scim_scope_is_forbidden(scim_for: Callable[..., Scim]) -> None:
    admin_only = scim_for("demo", ("admin",))
    response = admin_only.get("/Users")
    assert_scim_error(response, 403)
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert_scim_error(admin_only.post("/Users", new_user()), 403)


def test_a_revoked_token_is_refused(live_server: str, demo: dict[str, Any]) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    client, secret = container.clients().create(
        TenantId("demo"), name="revoking", client_type="service", scopes=["scim"], client_id=f"rv-{uuid.uuid4().hex}"
    )
    assert secret is not None
    token = requests.post(
        f"{live_server}/t/demo/token", data={"grant_type": "client_credentials"}, auth=(client.client_id, secret)
    ).json()["access_token"]
    scim = Scim(f"{live_server}/t/demo/scim/v2", token)
    assert scim.get("/Users", params={"count": 1}).status_code == 200
    revoked = requests.post(f"{live_server}/t/demo/revoke", data={"token": token}, auth=(client.client_id, secret))
    assert revoked.status_code == 200
    assert_scim_error(scim.get("/Users", params={"count": 1}), 401)


def test_the_operator_cli_token_works_for_scim(live_server: str, demo: dict[str, Any]) -> None:
    import argparse

    from chalicelib.cli.commands import token_admin

    token = token_admin(argparse.Namespace(tenant="demo"))["access_token"]
    assert Scim(f"{live_server}/t/demo/scim/v2", token).get("/Users", params={"count": 1}).status_code == 200


def test_unknown_endpoints_are_scim_404s_after_authorization(scim: Scim) -> None:
    assert_scim_error(scim.get(f"/{uuid.uuid4()}"), 404)
    assert_scim_error(scim.post("/Bulk", {"Operations": []}), 404)  # bulk is not implemented (nor advertised)
    assert_scim_error(Scim(scim.base, None).get("/Bulk"), 401)


def test_put_keeps_profile_claims_that_scim_does_not_manage(scim: Scim) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tenant_id = TenantId("demo")
    account = container.accounts().create_user(
        tenant_id,
        email=f"claims-{uuid.uuid4().hex[:8]}@example.org",
        password=None,
        verified=True,
        settings=container.tenants().effective(tenant_id),
        profile={"given_name": "Old", "birthdate": "1990-01-01", "picture": "https://example.org/p.png"},
    )
    response = scim.put(f"/Users/{account.user_id}", {"schemas": [USER], "userName": account.email})
    assert response.status_code == 200, response.text
    assert "name" not in response.json()  # PUT without name clears the name claims SCIM manages
    profile = container.accounts().get(tenant_id, account.user_id).profile
    assert profile == {"birthdate": "1990-01-01", "picture": "https://example.org/p.png"}


def test_a_hostile_tenant_path_never_reaches_a_header(live_server: str) -> None:
    response = requests.get(f"{live_server}/t/evil%22%2C%20x%3D%22y/scim/v2/Users")
    assert_scim_error(response, 404)
    assert "evil" not in response.headers.get("WWW-Authenticate", "")

"""Domain logic of the account portal and privacy features, without I/O: devices and places of sign-ins,
user agents, consent receipts, export links, editable profile fields and profile updates."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib.core.entities import Client, User
from chalicelib.core.errors import InvalidInput
from chalicelib.core.ids import ClientId, NodeId, TenantId, UserId
from chalicelib.core.settings import effective_settings
from chalicelib.services.account_profile import AccountProfileService, editable_fields
from chalicelib.services.activity import MAX_MARKS, Device, viewer_location
from chalicelib.services.consent_receipts import receipt_document, time_ordered_uuid
from chalicelib.services.data_export import parse_export_token
from chalicelib.services.devices import describe_user_agent

TENANT = TenantId("acme")


def user(**profile: Any) -> User:
    return User(TENANT, UserId("u-1"), "a@example.com", True, "active", profile, NodeId("root"), 1, 1)


def test_device_cookie_marks_users_and_new_devices() -> None:
    fresh = Device.from_cookie(None)
    assert not fresh.knows(TENANT, "u-1")
    known = fresh.with_user(TENANT, "u-1")
    again = Device.from_cookie(known.cookie_value())
    assert again.device_id == fresh.device_id and again.knows(TENANT, "u-1")
    assert not again.knows(TENANT, "u-2") and not again.knows(TenantId("other"), "u-1")
    crowded = again
    for n in range(MAX_MARKS + 3):
        crowded = crowded.with_user(TENANT, f"x{n}")
    assert len(crowded.marks) == MAX_MARKS
    assert Device.from_cookie("not a device; id").device_id != "not a device; id"
    assert Device.from_cookie(f"{fresh.device_id}.<script>").marks == ()


def test_viewer_location_uses_only_plausible_cloudfront_values() -> None:
    headers = {
        "cloudfront-viewer-city": "Zürich",
        "cloudfront-viewer-country-region-name": "Zurich",
        "cloudfront-viewer-country-name": "Switzerland",
    }
    assert viewer_location(headers) == "Zürich, Zurich, Switzerland"
    assert viewer_location({"cloudfront-viewer-country": "CH"}) == "CH"
    assert viewer_location({"cloudfront-viewer-city": "<b>x</b>", "cloudfront-viewer-country": "ch!"}) == ""
    assert viewer_location({}) == ""


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.0 Mobile/15E148 Safari/604.1",
            {"browser": "Safari", "os": "iOS", "device": "mobile"},
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
            "Safari/537.36 Edg/120.0",
            {"browser": "Edge", "os": "Windows", "device": "desktop"},
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            {"browser": "Firefox", "os": "Linux", "device": "desktop"},
        ),
        ("okhttp/4.12.0", {"browser": "okhttp", "os": "", "device": "app"}),
        ("", {"browser": "", "os": "", "device": ""}),
    ],
)
def test_user_agents_are_described(agent: str, expected: dict[str, str]) -> None:
    assert describe_user_agent(agent) == expected


def test_consent_receipt_has_the_kantara_fields() -> None:
    client = Client(TENANT, ClientId("partner"), "Partner", "confidential", "client_secret_basic", None, (), (),
                    ("openid",), ("authorization_code",), NodeId("root"))  # fmt: skip
    document = receipt_document(
        receipt_id="r-1", action="revoked", timestamp=1700000000, controller="Acme", tenant_id=TENANT,
        user_id=UserId("u-1"), client=client, scopes=("openid", "email"), method="account self-service",
    )  # fmt: skip
    required = {
        "version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID", "language",
        "piiPrincipalId", "piiControllers", "policyUrl", "services", "sensitive", "spiCat",
    }  # fmt: skip
    assert required <= set(document)
    purpose = document["services"][0]["purposes"][0]
    assert purpose["piiCategory"] == ["Identifier (subject)", "Email address"]
    assert purpose["thirdPartyDisclosure"] is True and "Withdrawn" in purpose["termination"]
    assert document["piiControllers"][0]["piiController"] == "Acme"


def test_receipt_ids_are_uuid7_and_sort_in_time_order() -> None:
    first, second = time_ordered_uuid(), time_ordered_uuid()
    assert uuid.UUID(first).version == 7 and uuid.UUID(first).variant == uuid.RFC_4122
    assert first[:13] <= second[:13]


def test_export_tokens_are_parsed_strictly() -> None:
    export_id, secret = "A" * 22, "b" * 43
    parsed = parse_export_token(f"{export_id}.{secret}")
    assert parsed is not None and parsed[0] == export_id and len(parsed[1]) == 64
    for bad in (None, "", f"{export_id}.short", f"{export_id}{secret}", "x" * 200, f"../{secret}.{secret}"):
        assert parse_export_token(bad) is None


def test_editable_fields_are_the_name_claims_and_the_tenant_schema() -> None:
    schema = [{"name": "nickname", "type": "string", "required": True}, {"name": "birthdate", "type": "date"}]
    settings = effective_settings([("root", {"attributes": {"schema": schema}})])
    fields = {f.name: f for f in editable_fields(settings)}
    assert list(fields) == ["name", "given_name", "family_name", "nickname", "birthdate"]
    assert fields["nickname"].required  # the schema's entry replaces the default


class FakeData:
    def __init__(self) -> None:
        self.saved: dict[str, Any] | None = None

    def update_profile(self, tenant_id: TenantId, user_id: UserId, profile: dict[str, Any], *, now: int) -> None:
        self.saved = profile


def test_profile_updates_validate_merge_and_keep_other_keys() -> None:
    data = FakeData()
    service = AccountProfileService(data, None, None)  # type: ignore[arg-type]
    settings = effective_settings([("root", {"attributes": {"schema": [{"name": "birthdate", "type": "date",
                                                                          "format": "past"}]}})])  # fmt: skip
    current = user(name="Ann", given_name="Ann", scim_only="kept")
    service.update_profile(current, {"family_name": "Lee", "given_name": None}, settings=settings, partial=True)
    assert data.saved == {"scim_only": "kept", "name": "Ann", "family_name": "Lee"}
    with pytest.raises(InvalidInput) as unknown:
        service.update_profile(current, {"email": "x@example.com"}, settings=settings, partial=True)
    assert unknown.value.fields == {"email": "unknown"}
    with pytest.raises(InvalidInput) as future:
        service.update_profile(current, {"birthdate": "2999-01-01"}, settings=settings, partial=True)
    assert future.value.fields == {"birthdate": "format"}

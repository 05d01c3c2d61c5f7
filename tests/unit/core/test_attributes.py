"""The tenant attribute schema (settings ``attributes.schema``) and validation of submitted values."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.core.attributes import AttributeSpec, check_attributes, parse_schema
from chalicelib.core.settings import DEFAULTS, validate_settings

TODAY = dt.date(2026, 6, 1)


def spec(name: str, kind: str, required: bool = False, fmt: str | None = None) -> AttributeSpec:
    return AttributeSpec(name, kind, required, fmt)


def test_a_valid_schema_parses() -> None:
    schema = parse_schema(
        [
            {"name": "given_name", "type": "string", "required": True, "label": "First name"},
            {"name": "birthdate", "type": "date", "format": "past"},
            {"name": "phone_number", "type": "phone"},
            {"name": "website", "type": "url", "format": "https"},
            {"name": "member_no", "type": "string", "format": "[A-Z]{2}[0-9]{4}"},
            {"name": "terms", "type": "boolean", "required": True},
        ]
    )
    assert [s.name for s in schema] == ["given_name", "birthdate", "phone_number", "website", "member_no", "terms"]
    assert schema[0].required and schema[0].label == "First name"


@pytest.mark.parametrize(
    "schema",
    [
        "not a list",
        [{"name": "x"}],
        [{"name": "Bad Name", "type": "string"}],
        [{"name": "email", "type": "string"}],
        [{"name": "password", "type": "string"}],
        [{"name": "x", "type": "number"}],
        [{"name": "x", "type": "string", "required": "yes"}],
        [{"name": "x", "type": "string", "format": "("}],
        [{"name": "x", "type": "string", "format": "a" * 201}],
        [{"name": "x", "type": "date", "format": "yesterday"}],
        [{"name": "x", "type": "phone", "format": "e164"}],
        [{"name": "x", "type": "string", "colour": "red"}],
        [{"name": "x", "type": "string"}, {"name": "x", "type": "date"}],
        [{"name": f"a{i}", "type": "string"} for i in range(31)],
    ],
)
def test_invalid_schemas_are_rejected_by_validate_settings(schema: object) -> None:
    with pytest.raises(ValueError):
        validate_settings({"attributes": {"schema": schema}})


def test_registration_and_recovery_settings_are_validated() -> None:
    assert validate_settings({"registration": {"captcha": "local", "verification_seconds": 2}})
    assert DEFAULTS["password_policy"]["min_score"] == 3
    for bad in (
        {"registration": {"captcha": "recaptcha"}},
        {"registration": {"verification_seconds": 0}},
        {"registration": {"enabled": "yes"}},
        {"recovery": {"reset_link_seconds": 200 * 86400}},
        {"password_policy": {"min_score": 5}},
    ):
        with pytest.raises(ValueError):
            validate_settings(bad)


@pytest.mark.parametrize(
    ("attribute", "raw", "expected"),
    [
        (spec("n", "string"), "  Ada  ", "Ada"),
        (spec("n", "string", fmt="[A-Z]{2}[0-9]{4}"), "AB1234", "AB1234"),
        (spec("d", "date"), "1990-12-10", "1990-12-10"),
        (spec("d", "date", fmt="past"), "2026-05-31", "2026-05-31"),
        (spec("d", "date", fmt="future"), "2026-06-02", "2026-06-02"),
        (spec("p", "phone"), "+41 (44) 123-45.67", "+41441234567"),
        (spec("u", "url"), "http://example.com/me", "http://example.com/me"),
        (spec("u", "url", fmt="https"), "https://example.com", "https://example.com"),
        (spec("b", "boolean"), "on", True),
        (spec("b", "boolean"), True, True),
        (spec("b", "boolean"), None, False),
        (spec("b", "boolean"), "false", False),
    ],
)
def test_valid_values_are_normalised(attribute: AttributeSpec, raw: object, expected: object) -> None:
    values, errors = check_attributes((attribute,), {attribute.name: raw}, today=TODAY)
    assert errors == {}
    assert values[attribute.name] == expected


@pytest.mark.parametrize(
    ("attribute", "raw", "code"),
    [
        (spec("n", "string", required=True), "   ", "required"),
        (spec("n", "string", required=True), None, "required"),
        (spec("n", "string"), 42, "invalid"),
        (spec("n", "string"), "a" * 257, "too_long"),
        (spec("n", "string"), "line\nbreak", "invalid"),
        (spec("n", "string", fmt="[A-Z]{2}[0-9]{4}"), "AB12345", "format"),
        (spec("d", "date"), "10.12.1990", "invalid"),
        (spec("d", "date"), "2023-02-30", "invalid"),
        (spec("d", "date"), "1899-12-31", "invalid"),
        (spec("d", "date", fmt="past"), "2026-06-01", "format"),
        (spec("d", "date", fmt="future"), "2026-06-01", "format"),
        (spec("p", "phone"), "044 123 45 67", "invalid"),
        (spec("p", "phone"), "+0123456789", "invalid"),
        (spec("u", "url"), "javascript:alert(1)", "invalid"),
        (spec("u", "url"), "example.com", "invalid"),
        (spec("u", "url", fmt="https"), "http://example.com", "format"),
        (spec("b", "boolean", required=True), "off", "required"),
        (spec("b", "boolean"), "maybe", "invalid"),
    ],
)
def test_invalid_values_get_a_code_per_field(attribute: AttributeSpec, raw: object, code: str) -> None:
    values, errors = check_attributes((attribute,), {attribute.name: raw}, today=TODAY)
    assert errors == {attribute.name: code}
    assert attribute.name not in values


def test_only_schema_attributes_are_kept_and_empty_optional_ones_are_left_out() -> None:
    schema = (spec("given_name", "string"), spec("nickname", "string"))
    values, errors = check_attributes(schema, {"given_name": "Ada", "nickname": "", "is_admin": "true"})
    assert values == {"given_name": "Ada"} and errors == {}

"""Settings inheritance customer -> organization -> account, with provenance and validation."""

from __future__ import annotations

import pytest

from chalicelib.core.settings import DEFAULTS, effective_settings, validate_settings


def test_defaults_apply_when_no_node_sets_anything() -> None:
    effective = effective_settings([("root", {})])
    assert effective.values == DEFAULTS
    assert effective.sources["mfa.mode"] == "default"


def test_lower_tiers_override_key_by_key_and_record_the_source() -> None:
    chain = [
        ("root", {"mfa": {"mode": "required"}, "branding": {"display_name": "Acme"}}),
        ("org", {"branding": {"primary_color": "#112233"}}),
        ("acct", {"mfa": {"mode": "off"}}),
    ]
    effective = effective_settings(chain)
    assert effective.get("mfa", "mode") == "off"
    assert effective.sources["mfa.mode"] == "acct"
    assert effective.get("branding", "display_name") == "Acme"
    assert effective.sources["branding.display_name"] == "root"
    assert effective.get("branding", "primary_color") == "#112233"
    assert effective.sources["branding.primary_color"] == "org"
    assert effective.get("mfa", "factors") == DEFAULTS["mfa"]["factors"]


def test_effective_settings_do_not_share_state_with_defaults() -> None:
    effective = effective_settings([("root", {})])
    effective.values["mfa"]["factors"].append("carrier-pigeon")
    assert "carrier-pigeon" not in DEFAULTS["mfa"]["factors"]


@pytest.mark.parametrize(
    "partial",
    [
        {"nope": {}},
        {"mfa": {"mode": "sometimes"}},
        {"mfa": {"unknown": 1}},
        {"tokens": {"access_token_alg": "HS256"}},
        {"tokens": {"access_token_seconds": "300"}},
        {"tokens": {"access_token_seconds": -1}},
        {"password_policy": {"min_length": 4}},
        {"consent": {"remember": 1}},
        {"branding": "blue"},
    ],
)
def test_invalid_settings_are_rejected(partial: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        validate_settings(partial)


def test_valid_partial_settings_pass() -> None:
    assert validate_settings({"tokens": {"access_token_seconds": 600}}) == {"tokens": {"access_token_seconds": 600}}

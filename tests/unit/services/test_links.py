"""Email links: unguessable, only a digest stored, bound to a purpose, newest wins."""

from __future__ import annotations

import pytest

from chalicelib.core.digests import secret_digest
from chalicelib.core.ids import TenantId
from chalicelib.services.links import link_url, make_link_token, parse_link_token, verification_id_for


def test_a_link_token_is_the_id_and_a_256_bit_secret_of_which_only_the_digest_is_kept() -> None:
    vid = verification_id_for("registration", "user-1")
    token, digest = make_link_token(vid)
    assert token.startswith(vid + ".")
    secret = token.split(".", 1)[1]
    assert len(secret) == 43 and digest == secret_digest(secret) and secret not in digest
    assert parse_link_token(token) == (vid, digest)
    assert make_link_token(vid)[0] != token, "every link is new"


def test_ids_are_fixed_per_user_and_purpose() -> None:
    assert verification_id_for("password_reset", "u1") == verification_id_for("password_reset", "u1")
    assert verification_id_for("password_reset", "u1") != verification_id_for("email_change", "u1")
    assert verification_id_for("password_reset", "u1") != verification_id_for("password_reset", "u2")


@pytest.mark.parametrize(
    "token",
    [
        None,
        42,
        "",
        "abc",
        "a" * 32,
        "0" * 32 + ".",
        "0" * 32 + ".short",
        "Z" * 32 + "." + "a" * 43,
        "0" * 32 + "." + "a" * 43 + "x" * 100,
        "0" * 32 + "." + "a" * 42 + "!",
    ],
)
def test_malformed_tokens_are_refused(token: object) -> None:
    assert parse_link_token(token) is None


def test_links_open_the_page_of_their_kind() -> None:
    token = "t"
    assert link_url(TenantId("acme"), "registration", token).endswith("/t/acme/verify?token=t")
    assert link_url(TenantId("acme"), "invitation", token).endswith("/t/acme/invitation?token=t")
    assert link_url(TenantId("acme"), "password_reset", token).endswith("/t/acme/password/reset?token=t")
    assert link_url(TenantId("acme"), "email_change", token).endswith("/t/acme/email/verify?token=t")

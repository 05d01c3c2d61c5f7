"""The seeded demo's upstream provider ("Social Login": tenant ``social`` on the same server, as ``./gatehouse serve``
seeds it), in headless Chromium: alice links her social account in the portal, signs out, and signing in at
demo-web through the social button lands on alice; the other seeded social user gets a new account just in time;
an upstream address that matches a demo account is never merged silently (linking policy ``sign_in``)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from jose import jwt
from playwright.sync_api import expect

from tests.e2e.oidc.test_browser import BrowserSession, chromium  # noqa: F401 - the shared Chromium fixture
from tests.support.demo import alice_as_seeded, demo_web_tokens  # noqa: F401 - alice_as_seeded is a fixture
from tests.support.tenants import new_user

pytestmark = [pytest.mark.stack, pytest.mark.browser]

SOCIAL_BUTTON = "Continue with Social Login"


def id_token_claims(demo: dict[str, Any], browser: BrowserSession) -> dict[str, Any]:
    """The claims of the ID token demo-web gets for the code on its callback page."""
    browser.page.wait_for_url(f"{demo['web_redirect_uri']}?*")
    expect(browser.page.locator("#callback-params")).to_be_visible()
    return dict(jwt.get_unverified_claims(demo_web_tokens(demo, browser.page)["id_token"]))


def through_social_button(demo: dict[str, Any], browser: BrowserSession) -> None:
    """demo-web's sign-in (the ``login_url`` serve prints): the login page's social button, to tenant social."""
    browser.page.goto(demo["login_url"])
    browser.page.get_by_role("link", name=SOCIAL_BUTTON).click()


def reseed(demo: dict[str, Any], base: str | None = None) -> dict[str, str]:
    """Seed the social part again (for ``base``, default the live server) keeping the users' passwords the session
    knows; the broker secret is not passed, so it is rotated and the integration follows. The values used."""
    from infra.local.seed import seed_social

    saved = {"social_password": demo["social_user_password"], "social_new_password": demo["social_new_user_password"]}
    seed_social((base or demo["issuer"].rsplit("/t/", 1)[0]), saved)
    return saved


@pytest.fixture
def alice_unlinked(demo: dict[str, Any]) -> Iterator[None]:
    """Alice as seeded afterwards: no identity linked (the whole session shares her)."""
    yield
    from chalicelib import container
    from chalicelib.core.errors import NotFound
    from chalicelib.core.ids import TenantId

    tenant_id = TenantId(demo["tenant"])
    alice = container.accounts().find_by_email(tenant_id, demo["user_email"])
    try:
        container.linked_identities().unlink(tenant_id, alice, demo["social_idp"])
    except NotFound:
        pass


def test_the_demo_is_seeded_with_the_social_provider(demo: dict[str, Any], live_server: str) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    integration = container.identity_providers().get(TenantId("demo"), "social")
    assert integration.oidc is not None and integration.oidc.issuer == f"{live_server}/t/social"
    assert integration.linking == "sign_in" and integration.enabled
    broker = container.clients().find(TenantId("social"), integration.oidc.client_id)
    assert broker is not None and f"{live_server}/t/demo/federation/social/callback" in broker.redirect_uris
    assert demo["social_user_email"] != demo["user_email"] and demo["social_user_password"]


@pytest.mark.usefixtures("alice_as_seeded", "alice_unlinked")
def test_alice_links_the_seeded_social_identity_and_signs_in_with_it(
    demo: dict[str, Any],
    chromium: Callable[..., BrowserSession],  # noqa: F811
) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    alice = container.accounts().find_by_email(TenantId("demo"), demo["user_email"])
    browser = chromium()
    page = browser.page
    page.goto(demo["account_portal"])
    browser.sign_in(demo["user_email"], demo["user_password"])
    page.click("#nav-security")
    page.click("#link-social")
    page.wait_for_url(f"{demo['social_issuer']}/authorize?*")
    browser.sign_in(demo["social_user_email"], demo["social_user_password"])
    expect(page.locator("#notice")).to_contain_text("The account was linked")
    expect(page.locator('#identities li[data-integration="social"]')).to_have_count(1)
    expect(page.locator("#link-social")).to_have_count(0)
    reseed(demo)  # as every start of serve does; here as when the credentials file was lost (new broker secret)
    page.click("#sign-out")
    expect(page.locator("#signed-out-message")).to_be_visible()

    # Signed out of demo (the login page shows again); the social button signs in as alice.
    through_social_button(demo, browser)
    page.wait_for_url(f"{demo['web_redirect_uri']}?*")  # the social tenant still has its session: no form
    claims = id_token_claims(demo, browser)
    assert claims["sub"] == str(alice.user_id) and claims["email"] == demo["user_email"]

    # A new browser: the social provider's own sign-in form, then alice again.
    fresh = chromium()
    through_social_button(demo, fresh)
    fresh.page.wait_for_url(f"{demo['social_issuer']}/authorize?*")
    fresh.sign_in(demo["social_user_email"], demo["social_user_password"])
    assert id_token_claims(demo, fresh)["sub"] == str(alice.user_id)
    unchanged = container.accounts().get(TenantId("demo"), alice.user_id)
    assert unchanged.email == demo["user_email"] and unchanged.profile == alice.profile
    assert browser.console_errors == [] and fresh.console_errors == []


def test_the_other_social_user_gets_a_new_demo_account(
    demo: dict[str, Any],
    chromium: Callable[..., BrowserSession],  # noqa: F811
) -> None:
    browser = chromium()
    through_social_button(demo, browser)
    browser.page.wait_for_url(f"{demo['social_issuer']}/authorize?*")
    browser.sign_in(demo["social_new_user_email"], demo["social_new_user_password"])
    claims = id_token_claims(demo, browser)
    assert claims["email"] == demo["social_new_user_email"] and claims["name"] == "Bob Social"

    from chalicelib import container
    from chalicelib.core.ids import TenantId

    alice = container.accounts().find_by_email(TenantId("demo"), demo["user_email"])
    created = container.accounts().find_by_email(TenantId("demo"), demo["social_new_user_email"])
    assert claims["sub"] == str(created.user_id) != str(alice.user_id)


def test_an_upstream_address_of_a_demo_account_is_linked_only_after_its_password(
    demo: dict[str, Any],
    chromium: Callable[..., BrowserSession],  # noqa: F811
) -> None:
    """Linking policy ``sign_in``: the social account claims the address of an existing demo account; the user must
    prove they own that account (its password) before anything is linked; a wrong password links nothing."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId, UserId

    owner = new_user("demo")
    social_password = f"Social-{secrets.token_urlsafe(10)}"
    container.accounts().create_user(
        TenantId("social"),
        email=owner.email,
        password=social_password,
        verified=True,
        settings=container.tenants().effective(TenantId("social")),
        profile={"given_name": f"S{uuid.uuid4().hex[:6]}"},
    )
    identities = container.linked_identities()
    user = container.accounts().get(TenantId("demo"), UserId(owner.user_id))

    browser = chromium()
    page = browser.page
    through_social_button(demo, browser)
    page.wait_for_url(f"{demo['social_issuer']}/authorize?*")
    browser.sign_in(owner.email, social_password)
    expect(page.locator("h1")).to_have_text("Link your account")
    expect(page.locator("main")).to_contain_text(owner.email)
    assert [w for w in identities.list(TenantId("demo"), user) if w.get("integration") == "social"] == []

    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".error-summary")).to_be_visible()
    assert [w for w in identities.list(TenantId("demo"), user) if w.get("integration") == "social"] == []

    page.fill("#password", owner.password)
    page.click("button[type=submit]")
    assert id_token_claims(demo, browser)["sub"] == owner.user_id
    assert [w for w in identities.list(TenantId("demo"), user) if w.get("integration") == "social"] != []


def test_seeding_again_duplicates_nothing_and_follows_the_served_base(demo: dict[str, Any], live_server: str) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    social, tenant = TenantId("social"), TenantId("demo")
    people = [demo["social_user_email"], demo["social_new_user_email"]]
    users = [container.accounts().find_by_email(social, email).user_id for email in people]
    other = "http://127.0.0.1:1"  # a start on another port
    reseed(demo, other)
    moved = container.identity_providers().get(tenant, "social")
    assert moved.oidc is not None and moved.oidc.issuer == f"{other}/t/social"
    broker = container.clients().find(social, "demo-broker")
    assert broker is not None and f"{other}/t/demo/federation/social/callback" in broker.redirect_uris

    saved = reseed(demo)  # back on the live server
    integration = container.identity_providers().get(tenant, "social")
    assert integration.oidc is not None and integration.oidc.issuer == f"{live_server}/t/social"
    assert container.identity_providers().client_secret(integration) == saved["social_client_secret"]
    broker = container.clients().find(social, "demo-broker")
    assert broker is not None and container.clients().secret_matches(broker, saved["social_client_secret"])
    assert [c.client_id for c in container.clients().list(social)] == ["demo-broker"]
    assert [i.name for i in container.identity_providers().all(tenant, fresh=True)].count("social") == 1
    assert [container.accounts().find_by_email(social, email).user_id for email in people] == users
    assert saved["social_password"] == demo["social_user_password"]  # known passwords are kept, not reset

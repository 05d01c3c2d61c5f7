"""OpenID Connect RP-Initiated Logout 1.0 over HTTP: the end_session endpoint ends the SSO session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.support.oidc_client import E2EClient, E2EUser, Page, Provider, jwt_claims, query_params, strip_query

pytestmark = pytest.mark.stack


@pytest.fixture
def signed_in(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> dict[str, Any]:
    """The browser is signed in to demo-web; returns the tokens of that sign-in."""
    result = op.sign_in(
        browser,
        {
            "client_id": "demo-web",
            "redirect_uri": callback,
            "response_type": "code",
            "scope": "openid email",
            "state": "s",
        },
        user.email,
        user.password,
    )
    response = op.token(
        {"grant_type": "authorization_code", "code": result["code"], "redirect_uri": callback}, auth=web_auth
    )
    assert response.status_code == 200
    return dict(response.json())


def authorize_shows_login(op: Provider, browser: requests.Session, callback: str) -> bool:
    response = op.authorize(
        browser, {"client_id": "demo-web", "redirect_uri": callback, "response_type": "code", "scope": "openid"}
    )
    if response.status_code in (302, 303):
        assert "code=" in response.headers["Location"]
        return False
    assert response.status_code == 200
    assert Page.parse(response).has_form("/login")
    return True


def session_cookie(browser: requests.Session) -> str:
    return str(browser.cookies.get("gh_session", path="/t/demo"))


def logout(op: Provider, browser: requests.Session, **params: str) -> requests.Response:
    return browser.get(op["end_session_endpoint"], params=params, allow_redirects=False)


def test_logout_with_id_token_hint_and_registered_uri_redirects_and_ends_the_session(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], signed_in: dict[str, Any]
) -> None:
    old_cookie = session_cookie(browser)
    assert not authorize_shows_login(op, browser, callback)  # SSO works before

    response = logout(
        op, browser, id_token_hint=signed_in["id_token"], post_logout_redirect_uri=callback, state="bye-123"
    )
    assert response.status_code in (302, 303)
    location = response.headers["Location"]
    assert strip_query(location) == callback
    assert query_params(location) == {"state": "bye-123"}
    set_cookie = response.headers["Set-Cookie"]
    assert "gh_session=;" in set_cookie and "Max-Age=0" in set_cookie and "Path=/t/demo" in set_cookie
    assert "gh_session" not in browser.cookies.keys()

    assert authorize_shows_login(op, browser, callback)
    # The session is over on the server, not just forgotten by the browser.
    browser.cookies.set("gh_session", old_cookie, domain="127.0.0.1", path="/t/demo")
    assert authorize_shows_login(op, browser, callback)
    # Grants bound to the session end with it.
    assert not op.is_active(signed_in["refresh_token"], web_auth)
    assert op.userinfo(signed_in["access_token"]).status_code == 401


def test_logout_keeps_offline_access_grants(
    op: Provider, browser: requests.Session, callback: str, web_auth: tuple[str, str], user: E2EUser
) -> None:
    result = op.sign_in(
        browser,
        {"client_id": "demo-web", "redirect_uri": callback, "response_type": "code", "scope": "openid offline_access"},
        user.email,
        user.password,
    )
    tokens = op.token(
        {"grant_type": "authorization_code", "code": result["code"], "redirect_uri": callback}, auth=web_auth
    ).json()
    response = logout(op, browser, id_token_hint=tokens["id_token"], post_logout_redirect_uri=callback)
    assert response.status_code in (302, 303)
    assert op.is_active(tokens["refresh_token"], web_auth)


def test_unregistered_post_logout_redirect_uri_is_an_error_page(
    op: Provider, browser: requests.Session, callback: str, signed_in: dict[str, Any]
) -> None:
    for uri in (
        "https://evil.example/logged-out",
        callback + "/",
        callback + "?x=1",
        "com.example.demo:/callback",
    ):  # registered, but for another client
        response = logout(op, browser, id_token_hint=signed_in["id_token"], post_logout_redirect_uri=uri, state="s")
        assert response.status_code == 400, uri
        assert "Location" not in response.headers
        assert response.headers["Content-Type"].startswith("text/html")
        assert "evil.example" not in response.text
    assert not authorize_shows_login(op, browser, callback)  # nothing was ended


def test_post_logout_redirect_uri_without_any_client_is_refused(
    op: Provider, browser: requests.Session, callback: str, signed_in: dict[str, Any]
) -> None:
    response = logout(op, browser, post_logout_redirect_uri=callback)
    assert response.status_code == 400 and "Location" not in response.headers
    assert not authorize_shows_login(op, browser, callback)


def test_logout_without_hint_asks_for_confirmation(
    op: Provider, browser: requests.Session, callback: str, signed_in: dict[str, Any]
) -> None:
    response = logout(op, browser)
    assert response.status_code == 200
    page = Page.parse(response)
    form = page.form("/logout")
    assert form.method == "post"
    assert form.fields["confirm"] == "yes" and form.fields["csrf"]
    assert not authorize_shows_login(op, browser, callback)  # a GET alone ends nothing

    done = op.submit(browser, page, "/logout", {})
    assert done.status_code == 200
    assert "gh_session=;" in done.headers["Set-Cookie"]
    assert not Page.parse(done).forms
    assert authorize_shows_login(op, browser, callback)


def test_confirmation_with_client_id_returns_to_the_registered_uri(
    op: Provider, browser: requests.Session, callback: str, signed_in: dict[str, Any]
) -> None:
    response = logout(op, browser, client_id="demo-web", post_logout_redirect_uri=callback, state="st")
    page = Page.parse(response)
    assert response.status_code == 200 and page.has_form("/logout")
    done = op.submit(browser, page, "/logout", {})
    assert done.status_code in (302, 303)
    assert done.headers["Location"] == f"{callback}?state=st"
    assert authorize_shows_login(op, browser, callback)


def test_confirmation_without_csrf_is_refused(
    op: Provider, browser: requests.Session, callback: str, signed_in: dict[str, Any]
) -> None:
    form = Page.parse(logout(op, browser)).form("/logout")
    forged = {k: v for k, v in form.fields.items() if k != "csrf"}
    response = browser.post(op["end_session_endpoint"], data=forged, allow_redirects=False)
    assert response.status_code == 400
    response = browser.post(op["end_session_endpoint"], data={**form.fields, "csrf": "x" * 43}, allow_redirects=False)
    assert response.status_code == 400
    # A cross-site POST carries the session cookie but not the CSRF cookie... nor the right token.
    attacker = requests.post(
        op["end_session_endpoint"],
        data=form.fields,
        allow_redirects=False,
        cookies={"gh_session": session_cookie(browser)},
    )
    assert attacker.status_code == 400
    assert not authorize_shows_login(op, browser, callback)


def test_id_token_hint_of_another_user_asks_for_confirmation(
    op: Provider,
    browser: requests.Session,
    callback: str,
    web_auth: tuple[str, str],
    signed_in: dict[str, Any],
    make_user: Callable[..., E2EUser],
) -> None:
    stranger = make_user()
    with requests.Session() as other_browser:
        result = op.sign_in(
            other_browser,
            {"client_id": "demo-web", "redirect_uri": callback, "response_type": "code", "scope": "openid"},
            stranger.email,
            stranger.password,
        )
    their_id_token = op.token(
        {"grant_type": "authorization_code", "code": result["code"], "redirect_uri": callback}, auth=web_auth
    ).json()["id_token"]
    response = logout(op, browser, id_token_hint=their_id_token, post_logout_redirect_uri=callback)
    assert response.status_code == 200 and Page.parse(response).has_form("/logout")
    assert not authorize_shows_login(op, browser, callback)


def test_expired_id_token_hint_is_accepted(
    op: Provider, browser: requests.Session, callback: str, signed_in: dict[str, Any]
) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    claims = jwt_claims(signed_in["id_token"])
    expired = container.tokens().id_token(
        TenantId("demo"),
        client_id="demo-web",
        sub=claims["sub"],
        lifetime=-3600,
        alg="RS256",
        auth_time=claims["auth_time"],
        acr=claims["acr"],
        amr=tuple(claims["amr"]),
        sid=claims["sid"],
        nonce=None,
        access_token=None,
        claims={},
    )
    response = logout(op, browser, id_token_hint=expired, post_logout_redirect_uri=callback)
    assert response.status_code in (302, 303)
    assert authorize_shows_login(op, browser, callback)


@pytest.mark.parametrize("hint", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_invalid_id_token_hint_is_an_error_page(
    op: Provider, browser: requests.Session, callback: str, signed_in: dict[str, Any], hint: str
) -> None:
    response = logout(op, browser, id_token_hint=hint, post_logout_redirect_uri=callback)
    assert response.status_code == 400 and "Location" not in response.headers
    assert not authorize_shows_login(op, browser, callback)


def test_client_id_must_match_the_id_token_hint(
    op: Provider,
    browser: requests.Session,
    callback: str,
    signed_in: dict[str, Any],
    make_client: Callable[..., E2EClient],
) -> None:
    other = make_client("confidential")
    response = logout(
        op, browser, id_token_hint=signed_in["id_token"], client_id=other.client_id, post_logout_redirect_uri=callback
    )
    assert response.status_code == 400 and "Location" not in response.headers
    assert not authorize_shows_login(op, browser, callback)


def test_logout_without_a_session_is_harmless(op: Provider, browser: requests.Session, callback: str) -> None:
    response = logout(op, browser)
    assert response.status_code == 200
    assert not Page.parse(response).has_form("/logout")
    assert "gh_session=;" in response.headers.get("Set-Cookie", "")


def test_logout_via_post_with_hint(
    op: Provider, browser: requests.Session, callback: str, signed_in: dict[str, Any]
) -> None:
    response = browser.post(
        op["end_session_endpoint"],
        allow_redirects=False,
        data={"id_token_hint": signed_in["id_token"], "post_logout_redirect_uri": callback, "state": "p"},
    )
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == f"{callback}?state=p"
    assert authorize_shows_login(op, browser, callback)

"""Invitations: ``./gatehouse user invite`` creates a pending user without password and starts the email
verification workflow with a set-password link."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from typing import Any

import requests

from tests.e2e.registration.conftest import Site, click, strong_password, token_link, unique_email, wait_for_mail
from tests.support.oidc_client import Page

Outbox = Callable[[], list[dict[str, Any]]]


def _cli(*argv: str) -> tuple[int, dict[str, Any], str]:
    from chalicelib.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, json.loads(out.getvalue()) if out.getvalue() else {}, err.getvalue()


def test_an_invited_user_sets_a_password_and_is_signed_in(site: Site, outbox: Outbox) -> None:
    email = unique_email("invitee")
    code, result, _ = _cli("user", "invite", "--tenant", site.slug, "--email", email)
    assert code == 0 and result["status"] == "pending" and result["email"] == email
    mail = wait_for_mail(outbox, email, "invited")[0]
    link = token_link(mail)
    assert "/invitation?token=" in link and "Set your password" in mail["text"]

    provider = site.provider()
    with requests.Session() as browser:
        form = Page.parse(browser.get(link))
        assert form.h1 == "Accept your invitation"
        weak = click(browser, site, link, {"password": "short"})
        assert weak.status_code == 400 and "too short" in Page.parse(weak).text
        password = strong_password()
        done = click(browser, site, link, {"password": password})
        assert done.status_code == 200 and "account is active" in Page.parse(done).text
        assert "gh_session" in done.headers.get("Set-Cookie", "")
        assert browser.get(link).status_code == 400, "single use"
    assert provider.sign_in(requests.Session(), site.authorize_params(), email, password)["code"]

    code, _, error = _cli("user", "invite", "--tenant", site.slug, "--email", email)
    assert code == 1 and "already exists" in error

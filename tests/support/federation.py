"""Federation test bed: a downstream tenant (the broker under test) whose integration ``up`` is another Gatehouse
tenant on the same live server acting as a real upstream OpenID provider, plus a browser-like walker."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from tests.support.oidc_client import Page, pkce_pair, query_params, strip_query

TIMEOUT = 15


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Bed:
    base: str  # live server
    tenant: str  # downstream (broker) tenant
    upstream: str  # upstream tenant
    client_id: str  # downstream relying party
    client_secret: str
    redirect_uri: str
    idp: str = "up"
    nodes: dict[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"{self.base}/t/{self.tenant}"

    def authorize_params(self, **extra: str) -> dict[str, str]:
        verifier, challenge = pkce_pair()
        self.verifier = verifier
        return {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid email profile",
            "state": uuid.uuid4().hex,
            "nonce": uuid.uuid4().hex,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }

    def exchange(self, code: str) -> dict[str, Any]:
        response = requests.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": self.verifier,
            },
            auth=(self.client_id, self.client_secret),
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


def make_bed(live_server: str, *, linking: str = "verified_email", domains: tuple[str, ...] = ()) -> Bed:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    downstream, upstream = unique("broker"), unique("upstream")
    for slug in (downstream, upstream):
        container.tenants().create_customer(slug)
        container.signing_keys().ensure_keys(TenantId(slug))
    redirect_uri = f"{live_server}/_local/callback"
    client, secret = container.clients().create(
        TenantId(downstream),
        name="App",
        client_type="confidential",
        redirect_uris=[redirect_uri],
        first_party=True,
        scopes=["openid", "email", "profile"],
    )
    callback = f"{live_server}/t/{downstream}/federation/up/callback"
    up_client, up_secret = container.clients().create(
        TenantId(upstream),
        name="Broker",
        client_type="confidential",
        redirect_uris=[callback],
        first_party=True,
        scopes=["openid", "email", "profile"],
    )
    container.identity_providers().create(
        TenantId(downstream),
        container.tenants().tree(downstream).root.node_id,
        {
            "name": "up",
            "kind": "oidc",
            "display_name": "Upstream Inc",
            "linking": linking,
            "domains": list(domains),
            "role_mapping": {"staff": ["employee"]},
            "oidc": {
                "issuer": f"{live_server}/t/{upstream}",
                "client_id": up_client.client_id,
                "client_secret": up_secret,
            },
        },
    )
    return Bed(live_server, downstream, upstream, client.client_id, secret or "", redirect_uri)


def upstream_user(
    bed: Bed, email: str | None = None, password: str = "Upstream-pass-42!", **profile: Any
) -> tuple[str, str]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    email = email or f"{uuid.uuid4().hex[:8]}@upstream.example"
    container.accounts().create_user(
        TenantId(bed.upstream),
        email=email,
        password=password,
        verified=True,
        profile=profile,
        settings=container.tenants().effective(TenantId(bed.upstream)),
    )
    return email, password


class Walker:
    """Follows redirects one by one like a browser without JavaScript, and fills the upstream login form."""

    def __init__(self, bed: Bed) -> None:
        self.bed = bed
        self.browser = requests.Session()
        self.trail: list[str] = []
        self.interstitials = 0

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        self.trail.append(url)
        return self.browser.get(url, allow_redirects=False, timeout=TIMEOUT, **kwargs)

    def follow(self, response: requests.Response, *, stop_at: str | None = None) -> requests.Response:
        """Follow 30x redirects (not leaving for the relying party's redirect URI or ``stop_at``) and the
        provisioning interstitial's meta refresh (202, polled like a browser without JavaScript)."""
        deadline = time.monotonic() + 30
        while response.status_code in (302, 303) or (response.status_code == 202 and "refresh" in response.text):
            if response.status_code == 202:
                self.interstitials += 1
                assert time.monotonic() < deadline, "provisioning did not finish"
                time.sleep(0.3)
                response = self.get(response.url)
                continue
            location = urljoin(response.url, response.headers["Location"])
            if strip_query(location) == strip_query(self.bed.redirect_uri):
                return response
            if stop_at and stop_at in location:
                return response
            response = self.get(location)
        return response

    def upstream_login(self, response: requests.Response, email: str, password: str) -> requests.Response:
        page = Page.parse(response)
        assert page.has_form("/login"), f"expected the upstream login page, got {response.status_code} {page.h1!r}"
        form = page.form("/login")
        action = urljoin(response.url, form.action)
        assert f"/t/{self.bed.upstream}/" in action
        posted = self.browser.post(
            action, data={**form.fields, "email": email, "password": password}, allow_redirects=False, timeout=TIMEOUT
        )
        return posted

    def sign_in(self, params: dict[str, str], email: str, password: str) -> requests.Response:
        """From the authorization request through the upstream login; the final response (a redirect to the
        relying party, or whatever page stopped the walk)."""
        response = self.follow(self.get(f"{self.bed.issuer}/authorize?" + requests.compat.urlencode(params)))
        if response.status_code == 200 and f"/t/{self.bed.upstream}/" in response.url:
            response = self.follow(self.upstream_login(response, email, password))
        return response


def code_of(bed: Bed, response: requests.Response) -> str:
    assert response.status_code in (302, 303), f"{response.status_code}: {response.text[:400]}"
    params = query_params(response.headers["Location"])
    assert "code" in params, params
    return params["code"]


def path_of(url: str) -> str:
    return urlsplit(url).path


def add_saml_integration(bed: Bed, idp: Any, name: str = "corp", linking: str = "none") -> str:
    """A SAML integration of the bed's tenant for the test IdP ``idp`` (``tests.support.saml_idp``), which then
    trusts our SP metadata."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    container.identity_providers().create(
        TenantId(bed.tenant),
        container.tenants().tree(bed.tenant).root.node_id,
        {
            "name": name,
            "kind": "saml",
            "display_name": "Corp SSO",
            "linking": linking,
            "saml": {"metadata": idp.metadata_xml()},
        },
    )
    idp.trust_sp(requests.get(f"{bed.issuer}/saml/{name}/metadata", timeout=TIMEOUT).text)
    return name

"""A real SAML 2.0 identity provider for tests: pysaml2's own ``Server``, signing with xmlsec1.

It publishes its metadata (HTTP-Redirect SSO endpoint), receives our AuthnRequests from the redirect URL
(verifying their RSA-SHA256 query signature against the certificate in our SP metadata) and answers with
responses it builds and signs itself: signed response or signed assertion, optionally encrypted for our SP
certificate, solicited or unsolicited. Nothing on the positive path is hand-written XML; malicious variants are
derived from these real responses by ``tests.support.saml_attacks``.
"""

from __future__ import annotations

import base64
import functools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, entity, saml, sigver
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor, metadata_tostring_fix
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT
from saml2.server import Server
from saml2.sigver import RSA_1_5, RSA_OAEP_MGF1P, TRIPLE_DES_CBC, verify_redirect_signature
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

from chalicelib.services.saml_sp import generate_key_pair

AES256_CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
SESSION_KEYS = {AES256_CBC: "aes-256", TRIPLE_DES_CBC: "des-192"}
ENTITY_ID = "https://idp.example.test/saml/idp"
SSO_URL = "https://idp.example.test/saml/sso"
__all__ = ["DIGEST_SHA1", "DIGEST_SHA256", "ENTITY_ID", "SIG_RSA_SHA1", "SIG_RSA_SHA256", "SamlTestIdP", "User"]


@dataclass
class User:
    """Who signs in at the test IdP and what it releases about them (LDAP names; sent as urn:oid URIs)."""

    name_id: str = "alice@corp.example"
    name_id_format: str = NAMEID_FORMAT_EMAILADDRESS
    attributes: dict[str, list[str]] = field(
        default_factory=lambda: {
            "mail": ["alice@corp.example"],
            "givenName": ["Alice"],
            "sn": ["Liddell"],
            "displayName": ["Alice Liddell"],
            "isMemberOf": ["engineering", "admins"],
        }
    )


def persistent(value: str) -> User:
    return User(name_id=value, name_id_format=NAMEID_FORMAT_PERSISTENT)


class SamlTestIdP:
    """One IdP (entity ``entity_id``) with its own key pair; ``trust_sp`` loads the SP metadata it answers."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        entity_id: str = ENTITY_ID,
        sso_url: str = SSO_URL,
        keys_from: SamlTestIdP | None = None,
    ) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="saml-idp-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.entity_id = entity_id
        self.sso_url = sso_url
        if keys_from is not None:
            key_pem, cert_pem = keys_from.key_file.read_text(), keys_from.certificate_pem
        else:
            key_pem, cert_pem = generate_key_pair("Gatehouse test IdP")
        self.key_file = self.workdir / "idp.key"
        self.cert_file = self.workdir / "idp.crt"
        self.key_file.write_text(key_pem)
        self.cert_file.write_text(cert_pem)
        self.certificate_pem = cert_pem
        self.sp_metadata: list[str] = []
        self.server = self._server()

    def _config(self) -> dict[str, Any]:
        return {
            "entityid": self.entity_id,
            "key_file": str(self.key_file),
            "cert_file": str(self.cert_file),
            "metadata": {"inline": list(self.sp_metadata)},
            "delete_tmpfiles": True,
            "service": {
                "idp": {
                    "endpoints": {"single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]},
                    "want_authn_requests_signed": True,
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                }
            },
        }

    def _server(self) -> Server:
        config = IdPConfig()
        config.load(self._config())
        return Server(config=config)

    def trust_sp(self, sp_metadata_xml: str) -> None:
        self.sp_metadata.append(sp_metadata_xml)
        self.server = self._server()

    def metadata_xml(self) -> str:
        config = IdPConfig()
        config.load({**self._config(), "metadata": {}})
        text = metadata_tostring_fix(entity_descriptor(config), {}, "")
        return text.decode() if isinstance(text, bytes) else str(text)

    def receive_redirect(self, url: str) -> Any:
        """The AuthnRequest carried by our redirect URL; its query signature must verify (RSA-SHA256 only)."""
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == self.sso_url, url
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert query["SigAlg"] == SIG_RSA_SHA256, query.get("SigAlg")
        request = self.server.parse_authn_request(
            query["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=query.get("RelayState"),
            sigalg=query["SigAlg"],
            signature=query["Signature"],
        )
        sp_certs = self.server.metadata.certs(request.message.issuer.text, "spsso", "signing")
        assert sp_certs, "the SP metadata lists no signing certificate"
        assert any(verify_redirect_signature(query, self.server.sec.sec_backend, cert=cert) for _, cert in sp_certs), (
            "AuthnRequest query signature does not verify"
        )
        return request.message

    def response_xml(
        self,
        *,
        sp_entity_id: str,
        acs_url: str,
        in_response_to: str | None,
        user: User | None = None,
        sign_response: bool = True,
        sign_assertion: bool = False,
        encrypted: bool = False,
        sign_alg: str = SIG_RSA_SHA256,
        digest_alg: str = DIGEST_SHA256,
        audience: str | None = None,
        block_cipher: str = AES256_CBC,
        key_transport: str = RSA_OAEP_MGF1P,
        authn_instant: int | None = None,
    ) -> str:
        """A signed (and optionally encrypted: ``block_cipher`` / ``key_transport``) Response, as XML text;
        ``authn_instant`` (epoch seconds) backdates the AuthnStatement (an IdP reusing an earlier session)."""
        user = user or User()
        name_id = saml.NameID(format=user.name_id_format, text=user.name_id)
        kwargs: dict[str, Any] = {}
        if encrypted:
            kwargs.update(encrypt_assertion=True, encrypt_assertion_self_contained=True)
            kwargs["encrypt_cert_assertion"] = self._sp_encryption_cert(sp_entity_id)
        # pysaml2's encryption template defaults to 3DES; the algorithms are chosen here instead.
        template = functools.partial(sigver.pre_encryption_part, msg_enc=block_cipher, key_enc=key_transport)
        session_key = SESSION_KEYS[block_cipher]
        encrypt = functools.partial(self.server.sec.encrypt_assertion, key_type=session_key)
        with (
            mock.patch.object(entity, "pre_encryption_part", template),
            mock.patch.object(self.server.sec, "encrypt_assertion", encrypt),
        ):
            response = self._create(
                identity=dict(user.attributes),
                in_response_to=in_response_to,
                destination=acs_url,
                sp_entity_id=audience or sp_entity_id,
                name_id=name_id,
                authn={
                    "class_ref": saml.AUTHN_PASSWORD_PROTECTED,
                    "authn_auth": self.entity_id,
                    **({"authn_instant": authn_instant} if authn_instant is not None else {}),
                },
                sign_response=sign_response,
                sign_assertion=sign_assertion,
                sign_alg=sign_alg,
                digest_alg=digest_alg,
                **kwargs,
            )
        return str(response)

    def _create(self, **kwargs: Any) -> Any:
        return self.server.create_authn_response(**kwargs)

    def _sp_encryption_cert(self, sp_entity_id: str) -> str:
        certs = self.server.metadata.certs(sp_entity_id, "spsso", "encryption")
        assert certs, "the SP metadata lists no encryption certificate"
        return str(certs[0][1])

    def response(self, **kwargs: Any) -> str:
        """``response_xml`` base64-encoded, as the HTTP-POST binding carries it in ``SAMLResponse``."""
        return encode(self.response_xml(**kwargs))


def encode(xml: str | bytes) -> str:
    return base64.b64encode(xml.encode() if isinstance(xml, str) else xml).decode("ascii")


__all__ += ["AES256_CBC", "BINDING_HTTP_POST", "RSA_1_5", "TRIPLE_DES_CBC", "encode", "persistent"]

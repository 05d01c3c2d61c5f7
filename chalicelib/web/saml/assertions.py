"""The SAML Web Browser SSO profile rules, read from the signed assertion only (SAML profiles §4.1.4.2-3).

``read_identity`` gets the Response root (for Destination, Issuer, InResponseTo and Status), the assertion the
verified signature covers, and what we expect. Every identity datum (NameID, attributes, conditions, subject
confirmation, authentication statement) comes from inside that assertion; nothing is read from anywhere else.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from chalicelib.core.saml import CLOCK_SKEW_SECONDS, MAX_ASSERTION_AGE_SECONDS, SamlAttributeMapping, SamlIdentity
from chalicelib.web.errors import SamlError
from chalicelib.web.saml.mapping import map_identity
from chalicelib.web.saml.signed_view import SAML, SAMLP, tag

SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
ENTITY_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
UNSPECIFIED_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
KNOWN_CONDITIONS = frozenset({tag(SAML, "AudienceRestriction"), tag(SAML, "OneTimeUse"), tag(SAML, "ProxyRestriction")})
MAX_ATTRIBUTES = 100
MAX_VALUES = 200


@dataclass(frozen=True)
class Expected:
    """What a response must say to be for us, now."""

    idp_entity_id: str
    sp_entity_id: str
    acs_url: str
    now: int
    response_signed: bool


def check_status(root: ET.Element) -> None:
    """The top-level StatusCode must be Success (checked first: an error response carries no assertion)."""
    status = _one(root, tag(SAMLP, "Status"), "Status")
    code = _one(status, tag(SAMLP, "StatusCode"), "StatusCode")
    value = code.get("Value", "")
    if value != SUCCESS:
        second = [c.get("Value", "") for c in code if c.tag == tag(SAMLP, "StatusCode")]
        detail = value.rsplit(":", 1)[-1] + (f"/{second[0].rsplit(':', 1)[-1]}" if second else "")
        raise SamlError(
            "idp_status",
            detail,
            status=401,
            public="Your identity provider did not sign you in. Please try again or contact your administrator.",
        )


def read_identity(
    root: ET.Element, assertion: ET.Element, expected: Expected, mapping: SamlAttributeMapping
) -> tuple[SamlIdentity, int]:
    """(identity, the last second the assertion may be used); raises SamlError naming the first broken rule."""
    _check_response(root, expected)
    if assertion.get("Version") != "2.0":
        raise SamlError("malformed", "Assertion Version is not 2.0")
    issued = _instant(assertion, "IssueInstant", required=True) or 0
    _check_issue_instant(issued, expected.now, "assertion")
    issuer = _text(_one(assertion, tag(SAML, "Issuer"), "Issuer"))
    _check_issuer(_one(assertion, tag(SAML, "Issuer"), "Issuer"), expected)
    subject = _one(assertion, tag(SAML, "Subject"), "Subject")
    name_id_element = _one(subject, tag(SAML, "NameID"), "NameID")
    name_id = _text(name_id_element)
    if not name_id or len(name_id) > 512:
        raise SamlError("malformed", "empty or oversized NameID")
    name_id_format = name_id_element.get("Format", UNSPECIFIED_FORMAT)
    confirmed_until, scd_in_response_to = _check_subject_confirmation(subject, expected)
    conditions_until = _check_conditions(assertion, expected)
    in_response_to = _in_response_to(root, scd_in_response_to, expected)
    authn_instant, session_index, authn_context = _check_authn_statement(assertion, expected)
    attributes = _attributes(assertion)
    valid_until = min(confirmed_until, conditions_until, issued + MAX_ASSERTION_AGE_SECONDS) + CLOCK_SKEW_SECONDS
    mapped = map_identity(mapping, name_id, name_id_format, attributes)
    identity = SamlIdentity(
        issuer=issuer,
        subject=name_id,
        name_id_format=name_id_format,
        assertion_id=assertion.get("ID", ""),
        in_response_to=in_response_to,
        session_index=session_index,
        email=mapped["email"],  # type: ignore[arg-type]
        given_name=mapped["given_name"],  # type: ignore[arg-type]
        family_name=mapped["family_name"],  # type: ignore[arg-type]
        name=mapped["name"],  # type: ignore[arg-type]
        groups=mapped["groups"],  # type: ignore[arg-type]
        attributes=attributes,
        authn_instant=authn_instant,
        authn_context=authn_context,
    )
    return identity, valid_until


def _check_response(root: ET.Element, expected: Expected) -> None:
    destination = root.get("Destination")
    if destination is None and expected.response_signed:
        raise SamlError("wrong_destination", "a signed Response must name its Destination")
    if destination is not None and destination != expected.acs_url:
        raise SamlError("wrong_destination", destination[:200])
    issuers = [child for child in root if child.tag == tag(SAML, "Issuer")]
    if len(issuers) > 1:
        raise SamlError("malformed", "more than one Response Issuer")
    if issuers:
        _check_issuer(issuers[0], expected)
    _check_issue_instant(_instant(root, "IssueInstant", required=True) or 0, expected.now, "response")


def _check_issuer(issuer: ET.Element, expected: Expected) -> None:
    if issuer.get("Format", ENTITY_FORMAT) != ENTITY_FORMAT or _text(issuer) != expected.idp_entity_id:
        raise SamlError("wrong_issuer", _text(issuer)[:200])


def _check_issue_instant(issued: int, now: int, what: str) -> None:
    if issued > now + CLOCK_SKEW_SECONDS:
        raise SamlError("not_yet_valid", f"{what} IssueInstant is in the future")
    if issued < now - MAX_ASSERTION_AGE_SECONDS - CLOCK_SKEW_SECONDS:
        raise SamlError("expired", f"{what} IssueInstant is too old")


def _check_subject_confirmation(subject: ET.Element, expected: Expected) -> tuple[int, str | None]:
    """The first bearer confirmation whose data is for us and current: (its NotOnOrAfter, its InResponseTo)."""
    reasons = []
    for confirmation in subject.findall(tag(SAML, "SubjectConfirmation")):
        if confirmation.get("Method") != BEARER:
            continue
        data = confirmation.findall(tag(SAML, "SubjectConfirmationData"))
        if len(data) != 1:
            reasons.append("malformed")
            continue
        until = _instant(data[0], "NotOnOrAfter", required=False)
        if data[0].get("Recipient") != expected.acs_url:
            reasons.append("wrong_recipient")
        elif until is None or data[0].get("NotBefore") is not None:
            reasons.append("malformed")
        elif until <= expected.now - CLOCK_SKEW_SECONDS:
            reasons.append("expired")
        else:
            return until, data[0].get("InResponseTo")
    reason = reasons[0] if reasons else "no_bearer_confirmation"
    raise SamlError(reason, "no usable bearer SubjectConfirmation")


def _check_conditions(assertion: ET.Element, expected: Expected) -> int:
    conditions = _one(assertion, tag(SAML, "Conditions"), "Conditions")
    not_before = _instant(conditions, "NotBefore", required=False)
    not_on_or_after = _instant(conditions, "NotOnOrAfter", required=False)
    if not_before is not None and not_before > expected.now + CLOCK_SKEW_SECONDS:
        raise SamlError("not_yet_valid", "Conditions NotBefore is in the future")
    if not_on_or_after is not None and not_on_or_after <= expected.now - CLOCK_SKEW_SECONDS:
        raise SamlError("expired", "Conditions NotOnOrAfter has passed")
    restrictions = 0
    for condition in conditions:
        if condition.tag not in KNOWN_CONDITIONS:
            raise SamlError("malformed", f"unknown condition {condition.tag}")
        if condition.tag == tag(SAML, "AudienceRestriction"):
            restrictions += 1
            audiences = [_text(a) for a in condition if a.tag == tag(SAML, "Audience")]
            if expected.sp_entity_id not in audiences:
                raise SamlError("wrong_audience", ", ".join(audiences)[:200])
    if not restrictions:
        raise SamlError("wrong_audience", "no AudienceRestriction")
    return not_on_or_after if not_on_or_after is not None else expected.now + MAX_ASSERTION_AGE_SECONDS


def _in_response_to(root: ET.Element, confirmed: str | None, expected: Expected) -> str | None:
    """The request this answers, from signed data only; the Response's own attribute must not contradict it."""
    on_response = root.get("InResponseTo")
    effective = confirmed if confirmed is not None else (on_response if expected.response_signed else None)
    if on_response is not None and on_response != effective:
        raise SamlError("in_response_to_mismatch", "Response and assertion answer different requests")
    return effective


def _check_authn_statement(assertion: ET.Element, expected: Expected) -> tuple[int | None, str | None, str | None]:
    statements = assertion.findall(tag(SAML, "AuthnStatement"))
    if not statements:
        raise SamlError("malformed", "no AuthnStatement")
    statement = statements[0]
    session_until = _instant(statement, "SessionNotOnOrAfter", required=False)
    if session_until is not None and session_until <= expected.now - CLOCK_SKEW_SECONDS:
        raise SamlError("expired", "SessionNotOnOrAfter has passed")
    context = statement.find(f"{tag(SAML, 'AuthnContext')}/{tag(SAML, 'AuthnContextClassRef')}")
    return (
        _instant(statement, "AuthnInstant", required=False),
        statement.get("SessionIndex"),
        _text(context) if context is not None else None,
    )


def _attributes(assertion: ET.Element) -> dict[str, tuple[str, ...]]:
    """Attribute values keyed by Name and by FriendlyName; values with child elements are refused."""
    found: dict[str, tuple[str, ...]] = {}
    elements = [
        a for s in assertion.findall(tag(SAML, "AttributeStatement")) for a in s.findall(tag(SAML, "Attribute"))
    ]
    for attribute in elements[:MAX_ATTRIBUTES]:
        values = []
        for value in attribute.findall(tag(SAML, "AttributeValue"))[:MAX_VALUES]:
            if len(value):
                raise SamlError("malformed", "structured attribute values are not accepted")
            values.append(_text(value))
        for key in (attribute.get("Name"), attribute.get("FriendlyName")):
            if key and key not in found:
                found[key] = tuple(values)
    return found


def _one(parent: ET.Element, name: str, what: str) -> ET.Element:
    found = [child for child in parent if child.tag == name]
    if len(found) != 1:
        raise SamlError("malformed", f"expected exactly one {what}")
    return found[0]


def _text(element: ET.Element) -> str:
    """All text of an element that must hold text only (comments were refused before)."""
    if len(element):
        raise SamlError("malformed", f"{element.tag} has child elements")
    return "".join(element.itertext()).strip()


def _instant(element: ET.Element, name: str, *, required: bool) -> int | None:
    """An xs:dateTime attribute in UTC (SAML core §1.3.3) as epoch seconds."""
    value = element.get(name)
    if value is None:
        if required:
            raise SamlError("malformed", f"missing {name}")
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise SamlError("malformed", f"bad {name}") from error
    if parsed.tzinfo is None or parsed.utcoffset() != dt.timedelta(0):
        raise SamlError("malformed", f"{name} is not UTC")
    return int(parsed.timestamp())

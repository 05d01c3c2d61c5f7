"""Where the signatures of a SAML Response are, and what they cover (defence against XML Signature Wrapping).

``check_shape`` runs on the message as posted, before any cryptography: one Response root, IDs unique in the
whole document, exactly one (plain or encrypted) assertion and it is a direct child of the Response, every
``ds:Signature`` enveloped in the Response or that assertion right after its Issuer, referencing the ID of its own
parent with only SAML's allowed transforms and SHA-2 algorithms (SAML core §5.4), no comments or processing
instructions anywhere. ``signed_assertion`` then finds the one assertion the verified signature covers; data is
read only from it (``chalicelib.web.saml.assertions``). XML Signature Wrapping works by making the verifier and
the reader look at different elements; with unique IDs and these positions fixed there is only one candidate.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass

from chalicelib.web.errors import SamlError

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"


def tag(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


RESPONSE = tag(SAMLP, "Response")
ASSERTION = tag(SAML, "Assertion")
ENCRYPTED_ASSERTION = tag(SAML, "EncryptedAssertion")
ISSUER = tag(SAML, "Issuer")
SIGNATURE = tag(DS, "Signature")
ENCRYPTED_DATA = tag(XENC, "EncryptedData")
ENCRYPTED_KEY = tag(XENC, "EncryptedKey")
ENCRYPTION_METHOD = tag(XENC, "EncryptionMethod")

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
CANONICALIZATIONS = frozenset({EXC_C14N, EXC_C14N_COMMENTS})
TRANSFORMS = frozenset({ENVELOPED, EXC_C14N, EXC_C14N_COMMENTS})
SIGNATURE_METHODS = frozenset(
    {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    }
)
DIGEST_METHODS = frozenset(
    {
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2001/04/xmldsig-more#sha384",
        "http://www.w3.org/2001/04/xmlenc#sha512",
    }
)
# RSA PKCS#1 v1.5 key transport is refused (Bleichenbacher-style oracles); 3DES is refused.
KEY_TRANSPORTS = frozenset(
    {"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", "http://www.w3.org/2009/xmlenc11#rsa-oaep"}
)
BLOCK_CIPHERS = frozenset(
    {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
        "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        "http://www.w3.org/2009/xmlenc11#aes128-gcm",
        "http://www.w3.org/2009/xmlenc11#aes192-gcm",
        "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    }
)
ID_ATTRIBUTES = frozenset({"ID", "Id", "id", "{http://www.w3.org/XML/1998/namespace}id"})


@dataclass(frozen=True)
class Shape:
    """What the posted message looks like: which of its elements carry a signature, and is the assertion encrypted."""

    response_id: str
    response_signed: bool
    assertion_signed: bool
    encrypted: bool
    assertion_id: str | None


def check_shape(root: ET.Element) -> Shape:
    """Structural rules on the message as posted (see the module docstring); raises SamlError."""
    if root.tag != RESPONSE:
        raise SamlError("malformed", f"root element is {root.tag}")
    if root.get("Version") != "2.0":
        raise SamlError("malformed", "Response Version is not 2.0")
    response_id = _required_id(root, "Response")
    check_unique_ids(root)
    check_no_comments(root)
    assertions = list(root.iter(ASSERTION))
    encrypted = list(root.iter(ENCRYPTED_ASSERTION))
    if len(assertions) + len(encrypted) != 1:
        raise SamlError("assertion_count", f"{len(assertions)} assertions, {len(encrypted)} encrypted assertions")
    children = list(root)
    carrier = (assertions or encrypted)[0]
    if carrier not in children:
        raise SamlError("wrapped_assertion", "the assertion is not a direct child of the Response")
    response_signed = _check_enveloped(root, response_id, "Response")
    assertion_signed = False
    assertion_id: str | None = None
    if assertions:
        assertion_id = _required_id(assertions[0], "Assertion")
        assertion_signed = _check_enveloped(assertions[0], assertion_id, "Assertion")
    else:
        check_encryption(encrypted[0])
    _check_signature_places(root, allowed={root, *assertions})
    if assertions and not (response_signed or assertion_signed):
        raise SamlError("unsigned", "neither the Response nor the Assertion is signed")
    return Shape(response_id, response_signed, assertion_signed, bool(encrypted), assertion_id)


def signed_assertion(decrypted_root: ET.Element, shape: Shape) -> tuple[ET.Element, bool]:
    """(the assertion, whether it carries its own signature) in the decrypted document of an encrypted response."""
    if decrypted_root.tag != RESPONSE or decrypted_root.get("ID") != shape.response_id:
        raise SamlError("decryption_mismatch", "decrypted document is not the posted Response")
    check_unique_ids(decrypted_root)
    check_no_comments(decrypted_root)
    assertions = list(decrypted_root.iter(ASSERTION))
    wrappers = [e for e in decrypted_root if e.tag == ENCRYPTED_ASSERTION]
    if len(assertions) != 1 or len(wrappers) != 1 or assertions[0] not in list(wrappers[0]):
        raise SamlError("assertion_count", "the decrypted Response does not hold exactly one assertion")
    assertion = assertions[0]
    assertion_id = _required_id(assertion, "Assertion")
    own_signature = _check_enveloped(assertion, assertion_id, "Assertion")
    _check_signature_places(decrypted_root, allowed={decrypted_root, assertion})
    if not (shape.response_signed or own_signature):
        raise SamlError("unsigned", "neither the Response nor the decrypted Assertion is signed")
    return assertion, own_signature


def check_unique_ids(root: ET.Element) -> None:
    """Every ID-like attribute value occurs once: a duplicated ID lets a verifier and a reader pick different nodes."""
    values = Counter(
        value for element in root.iter() for name, value in element.attrib.items() if name in ID_ATTRIBUTES
    )
    duplicated = [value for value, count in values.items() if count > 1]
    if duplicated:
        raise SamlError("duplicate_id", f"ID {duplicated[0][:64]!r} occurs more than once")


def check_no_comments(root: ET.Element) -> None:
    """Comments and processing instructions are refused anywhere: canonicalization drops comments, so a comment
    inside a signed NameID or attribute changes what a naive reader sees without breaking the signature."""
    for element in root.iter():
        if callable(element.tag):  # ET.Comment and ET.ProcessingInstruction nodes carry their factory as tag
            raise SamlError("comment_injection", "the message contains XML comments or processing instructions")


def check_encryption(encrypted_assertion: ET.Element) -> None:
    """Only an EncryptedData with AES and an RSA-OAEP key transport, and nothing else encrypted in the message."""
    data = [e for e in encrypted_assertion if e.tag == ENCRYPTED_DATA]
    if len(data) != 1:
        raise SamlError("malformed", "EncryptedAssertion without exactly one EncryptedData")
    for element in data[0].iter(ENCRYPTED_DATA):
        if element is not data[0]:
            raise SamlError("malformed", "nested EncryptedData")
    cipher = _algorithm(data[0])
    if cipher not in BLOCK_CIPHERS:
        raise SamlError("weak_algorithm", f"block cipher {cipher}")
    keys = list(encrypted_assertion.iter(ENCRYPTED_KEY))
    if not keys:
        raise SamlError("malformed", "no EncryptedKey")
    for key in keys:
        transport = _algorithm(key)
        if transport not in KEY_TRANSPORTS:
            raise SamlError("weak_algorithm", f"key transport {transport}")


def _algorithm(element: ET.Element) -> str:
    methods = [e for e in element if e.tag == ENCRYPTION_METHOD]
    return methods[0].get("Algorithm", "") if len(methods) == 1 else ""


def _required_id(element: ET.Element, what: str) -> str:
    value = element.get("ID", "")
    if not value or len(value) > 256:
        raise SamlError("malformed", f"{what} without ID")
    return value


def _check_signature_places(root: ET.Element, *, allowed: set[ET.Element]) -> None:
    """Every ds:Signature of the document is a direct child of an allowed element, at most one per element."""
    parents = {child: parent for parent in root.iter() for child in parent}
    seen: set[ET.Element] = set()
    for signature in root.iter(SIGNATURE):
        parent = parents.get(signature)
        if parent not in allowed or parent in seen:
            raise SamlError("wrapped_signature", "a signature outside the Response/Assertion envelope")
        seen.add(parent)


def _check_enveloped(element: ET.Element, element_id: str, what: str) -> bool:
    """Whether ``element`` is signed; a signature it has must follow SAML core §5.4 and sit right after Issuer."""
    children = list(element)
    signatures = [i for i, child in enumerate(children) if child.tag == SIGNATURE]
    if not signatures:
        return False
    if len(signatures) > 1:
        raise SamlError("wrapped_signature", f"{what} has more than one signature")
    position = signatures[0]
    issuer_first = bool(children) and children[0].tag == ISSUER
    if position != (1 if issuer_first else 0) or (what == "Assertion" and not issuer_first):
        raise SamlError("wrapped_signature", f"the {what} signature is not in its schema position")
    if issuer_first and len(children[0]):
        raise SamlError("malformed", "Issuer with child elements")
    check_signature_profile(children[position], element_id)
    return True


def check_signature_profile(signature: ET.Element, element_id: str) -> None:
    """SAML core §5.4: one Reference to the parent's ID, enveloped + exclusive c14n only, no Object; SHA-2 only."""
    signed_info = _only(signature, tag(DS, "SignedInfo"))
    if any(child.tag == tag(DS, "Object") for child in signature):
        raise SamlError("wrapped_signature", "ds:Object in a signature")
    c14n = _only(signed_info, tag(DS, "CanonicalizationMethod")).get("Algorithm", "")
    if c14n not in CANONICALIZATIONS:
        raise SamlError("weak_algorithm", f"canonicalization {c14n}")
    method = _only(signed_info, tag(DS, "SignatureMethod")).get("Algorithm", "")
    if method not in SIGNATURE_METHODS:
        raise SamlError("weak_algorithm", f"signature method {method}")
    references = [child for child in signed_info if child.tag == tag(DS, "Reference")]
    if len(references) != 1 or references[0].get("URI") != f"#{element_id}":
        raise SamlError("wrapped_signature", "the signature does not reference its own element")
    transforms = [t.get("Algorithm", "") for t in references[0].iter(tag(DS, "Transform"))]
    if not 1 <= len(transforms) <= 2 or ENVELOPED not in transforms or not set(transforms) <= TRANSFORMS:
        raise SamlError("wrapped_signature", f"transforms {transforms}")
    digest = _only(references[0], tag(DS, "DigestMethod")).get("Algorithm", "")
    if digest not in DIGEST_METHODS:
        raise SamlError("weak_algorithm", f"digest method {digest}")


def _only(parent: ET.Element, name: str) -> ET.Element:
    found = [child for child in parent if child.tag == name]
    if len(found) != 1:
        raise SamlError("malformed", f"expected exactly one {name}")
    return found[0]

"""Malicious variants of REAL signed responses from the test IdP (XML Signature Wrapping and friends).

Each function takes the XML text of a genuine response and returns the attacker's version. minidom keeps
prefixes and namespace declarations as written, so untouched signed parts still canonicalize to what was signed
(test code on trusted input only; the service never uses minidom).
"""

from __future__ import annotations

from xml.dom import minidom
from xml.dom.minidom import Document, Element

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
EVIL = "mallory@evil.example"


def _dom(xml: str) -> Document:
    return minidom.parseString(xml.encode())  # noqa: S318 - trusted test input


def _elements(node: Document | Element, ns: str, local: str) -> list[Element]:
    return list(node.getElementsByTagNameNS(ns, local))


def _children(node: Element, ns: str, local: str) -> list[Element]:
    return [c for c in node.childNodes if isinstance(c, Element) and c.namespaceURI == ns and c.localName == local]


def _set_text(element: Element, text: str) -> None:
    for child in list(element.childNodes):
        element.removeChild(child)
    element.appendChild(element.ownerDocument.createTextNode(text))


def _response(doc: Document) -> Element:
    return doc.documentElement


def _assertion(doc: Document) -> Element:
    return _children(_response(doc), SAML, "Assertion")[0]


def _evil_copy(original: Element, new_id: str) -> Element:
    """A copy of ``original`` with a new ID, no signature, and the attacker's NameID."""
    evil: Element = original.cloneNode(deep=True)  # type: ignore[assignment]
    evil.setAttribute("ID", new_id)
    for signature in _children(evil, DS, "Signature"):
        evil.removeChild(signature)
    for name_id in _elements(evil, SAML, "NameID"):
        _set_text(name_id, EVIL)
    return evil


def _extensions(doc: Document) -> Element:
    response = _response(doc)
    found = _children(response, SAMLP, "Extensions")
    if found:
        return found[0]
    prefix = response.prefix
    extensions = doc.createElementNS(SAMLP, f"{prefix}:Extensions" if prefix else "Extensions")
    status = _children(response, SAMLP, "Status")[0]
    response.insertBefore(extensions, status)
    return extensions


def tamper_name_id(xml: str, value: str = EVIL) -> str:
    """Change the NameID after signing (no wrapping at all)."""
    doc = _dom(xml)
    for name_id in _elements(doc, SAML, "NameID"):
        _set_text(name_id, value)
    return doc.toxml()


def strip_signatures(xml: str) -> str:
    doc = _dom(xml)
    for signature in _elements(doc, DS, "Signature"):
        signature.parentNode.removeChild(signature)
    return doc.toxml()


def set_response_attribute(xml: str, name: str, value: str) -> str:
    doc = _dom(xml)
    _response(doc).setAttribute(name, value)
    return doc.toxml()


def xsw_evil_assertion_before(xml: str) -> str:
    """XSW3: an unsigned evil assertion inserted before the signed one."""
    doc = _dom(xml)
    original = _assertion(doc)
    _response(doc).insertBefore(_evil_copy(original, "_evil_assertion"), original)
    return doc.toxml()


def xsw_evil_assertion_after(xml: str) -> str:
    """XSW3 variant: the evil assertion after the signed one."""
    doc = _dom(xml)
    original = _assertion(doc)
    _response(doc).appendChild(_evil_copy(original, "_evil_assertion"))
    return doc.toxml()


def xsw_evil_wraps_original(xml: str) -> str:
    """XSW4: the evil assertion takes the signed one's place and carries it as its last child."""
    doc = _dom(xml)
    original = _assertion(doc)
    evil = _evil_copy(original, "_evil_assertion")
    _response(doc).replaceChild(evil, original)
    evil.appendChild(original)
    return doc.toxml()


def xsw_same_id_copy_in_extensions(xml: str) -> str:
    """XSW5: the signed assertion edited in place (same ID), a pristine copy moved into samlp:Extensions."""
    doc = _dom(xml)
    original = _assertion(doc)
    _extensions(doc).appendChild(original.cloneNode(deep=True))
    for name_id in _elements(original, SAML, "NameID"):
        _set_text(name_id, EVIL)
    return doc.toxml()


def xsw_copy_in_signature_object(xml: str) -> str:
    """XSW6/8: the signed assertion edited in place, a pristine copy inside ds:Object of its own signature."""
    doc = _dom(xml)
    original = _assertion(doc)
    pristine = original.cloneNode(deep=True)
    signature = _children(original, DS, "Signature")[0]
    prefix = signature.prefix
    holder = doc.createElementNS(DS, f"{prefix}:Object" if prefix else "Object")
    holder.appendChild(pristine)
    signature.appendChild(holder)
    for name_id in _children(_children(original, SAML, "Subject")[0], SAML, "NameID"):
        _set_text(name_id, EVIL)
    return doc.toxml()


def xsw_original_in_extensions(xml: str) -> str:
    """XSW7: the signed assertion moved into samlp:Extensions, an evil one (new ID) in its place."""
    doc = _dom(xml)
    original = _assertion(doc)
    evil = _evil_copy(original, "_evil_assertion")
    _response(doc).replaceChild(evil, original)
    _extensions(doc).appendChild(original)
    return doc.toxml()


def xsw_response_wrapper(xml: str) -> str:
    """XSW1/2 on a signed Response: an evil unsigned Response (new IDs) wraps the genuine one in its Extensions."""
    doc = _dom(xml)
    genuine = _response(doc)
    evil: Element = genuine.cloneNode(deep=True)  # type: ignore[assignment]
    evil.setAttribute("ID", "_evil_response")
    for signature in _children(evil, DS, "Signature"):
        evil.removeChild(signature)
    assertion = _children(evil, SAML, "Assertion")[0]
    evil.replaceChild(_evil_copy(assertion, "_evil_assertion"), assertion)
    doc.replaceChild(evil, genuine)
    _extensions(doc).appendChild(genuine)
    return doc.toxml()


def xsw_response_signature_moved(xml: str) -> str:
    """XSW1: the evil Response carries the genuine Response inside the genuine signature (detached)."""
    doc = _dom(xml)
    genuine = _response(doc)
    evil: Element = genuine.cloneNode(deep=True)  # type: ignore[assignment]
    evil.setAttribute("ID", "_evil_response")
    assertion = _children(evil, SAML, "Assertion")[0]
    evil.replaceChild(_evil_copy(assertion, "_evil_assertion"), assertion)
    signature = _children(evil, DS, "Signature")[0]
    doc.replaceChild(evil, genuine)
    for inner in _children(genuine, DS, "Signature"):
        genuine.removeChild(inner)
    signature.appendChild(genuine)
    return doc.toxml()


def comment_in_name_id(xml: str, keep: str) -> str:
    """Duo 2018 (CVE-2017-11427 family): split the signed NameID with a comment after ``keep`` characters."""
    doc = _dom(xml)
    for name_id in _elements(doc, SAML, "NameID"):
        text = "".join(n.data for n in name_id.childNodes if n.nodeType == n.TEXT_NODE)
        for child in list(name_id.childNodes):
            name_id.removeChild(child)
        name_id.appendChild(doc.createTextNode(text[:keep]))
        name_id.appendChild(doc.createComment(""))
        name_id.appendChild(doc.createTextNode(text[keep:]))
    return doc.toxml()


def with_doctype(xml: str, internal_subset: str) -> str:
    body = xml.split("?>", 1)[1] if xml.lstrip().startswith("<?xml") else xml
    root = _dom(xml).documentElement.tagName
    return f'<?xml version="1.0"?><!DOCTYPE {root} [{internal_subset}]>{body}'


BILLION_LAUGHS = (
    '<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
)
EXTERNAL_ENTITY = '<!ENTITY xxe SYSTEM "file:///etc/passwd">'

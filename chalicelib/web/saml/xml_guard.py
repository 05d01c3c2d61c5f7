"""Hardened intake of a posted SAML message: size limits before decoding and parsing, no DTD, no entities.

The XML is parsed with defusedxml (DTDs, entity declarations and external references forbidden) into an
ElementTree that keeps comments and processing instructions, so that later checks can refuse them where identity
data is read (a comment inside a NameID is the classic way to make two parsers read two different identities).
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET

from chalicelib.web.errors import SamlError

# Base64 of the largest response we accept; the request body limit (64 KiB) is above it, so this check speaks.
MAX_ENCODED_CHARS = 60_000
MAX_XML_BYTES = 44_000
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_WHITESPACE = re.compile(rb"[ \t\r\n]+")
_FORBIDDEN_MARKUP = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"^<\?xml[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def decode_message(value: str | None) -> bytes:
    """The XML of a base64 ``SAMLResponse`` form value; the size is checked before decoding."""
    if not value:
        raise SamlError("missing_response", "no SAMLResponse in the form")
    if len(value) > MAX_ENCODED_CHARS:
        raise SamlError("oversize", f"{len(value)} base64 characters", status=413)
    compact = _WHITESPACE.sub(b"", value.encode("ascii", errors="replace"))
    if len(compact) % 4 or not _BASE64.fullmatch(compact):
        raise SamlError("malformed", "SAMLResponse is not base64")
    try:
        xml = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SamlError("malformed", "SAMLResponse is not base64") from error
    check_xml_bytes(xml)
    return xml


def check_xml_bytes(xml: bytes) -> None:
    """Size, encoding (UTF-8 only) and the absence of any DTD markup, before a parser sees the bytes."""
    if len(xml) > MAX_XML_BYTES:
        raise SamlError("oversize", f"{len(xml)} bytes of XML", status=413)
    if _FORBIDDEN_MARKUP.search(xml):
        raise SamlError("dtd_forbidden", "the message carries a DTD or entity declaration")
    declaration = _XML_DECLARATION.match(xml.lstrip(b"\xef\xbb\xbf"))
    if declaration:
        encoding = _DECLARED_ENCODING.search(declaration.group(0))
        if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
            raise SamlError("malformed", "only UTF-8 messages are accepted")
    try:
        xml.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SamlError("malformed", "the message is not UTF-8") from error


def parse(xml: bytes) -> ET.Element:
    """A tree of ``xml`` (already size-checked) keeping comments and processing instructions as nodes."""
    import defusedxml
    from defusedxml.ElementTree import DefusedXMLParser

    check_xml_bytes(xml)
    builder = ET.TreeBuilder(insert_comments=True, insert_pis=True)
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(xml)
        root: ET.Element = parser.close()
    except defusedxml.DefusedXmlException as error:
        raise SamlError("dtd_forbidden", type(error).__name__) from error
    except ET.ParseError as error:
        raise SamlError("malformed", f"not well-formed XML: {error}") from error
    return root

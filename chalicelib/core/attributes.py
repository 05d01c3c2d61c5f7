"""The tenant's attribute schema (settings ``attributes.schema``) and validation of submitted attribute values.

A schema entry is ``{name, type, required, format?, label?}``. What ``format`` means depends on the type:

- ``string``: a regular expression the whole value must match (``fullmatch``), at most 200 characters;
- ``date``: ``past`` or ``future`` (an ISO ``YYYY-MM-DD`` date is always required);
- ``url``: ``https`` to refuse plain ``http`` (an absolute http(s) URL is always required);
- ``phone`` and ``boolean``: no format (a phone number is E.164 after removing spaces, dashes, dots and
  parentheses; a required boolean must be true, e.g. accepting the terms of service).

Validation reports one machine-readable code per field (``required``, ``invalid``, ``format``, ``too_long``),
which pages translate and the JSON API returns as is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib.core import clock

TYPES = ("string", "date", "phone", "url", "boolean")
FORMATS: dict[str, tuple[str, ...]] = {"date": ("past", "future"), "url": ("https",)}
MAX_ATTRIBUTES = 30
MAX_VALUE = 256
MAX_PATTERN = 200
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Names the registration form and API use themselves, or that only the service may set.
RESERVED = frozenset(
    {"email", "email_verified", "password", "sub", "captcha_token", "csrf", "flow", "updated_at", "attributes"}
)
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
TRUE_VALUES = frozenset({"true", "on", "1", "yes"})
FALSE_VALUES = frozenset({"", "false", "off", "0", "no"})


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    type: str
    required: bool = False
    format: str | None = None
    label: str = ""


def parse_schema(raw: object) -> tuple[AttributeSpec, ...]:
    """The schema as specs; raises ValueError with a readable message (used by ``validate_settings``)."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValueError("setting 'attributes.schema' must be a list")
    if len(raw) > MAX_ATTRIBUTES:
        raise ValueError(f"setting 'attributes.schema' allows at most {MAX_ATTRIBUTES} attributes")
    specs: list[AttributeSpec] = []
    for entry in raw:
        spec = _parse_entry(entry)
        if any(s.name == spec.name for s in specs):
            raise ValueError(f"attribute '{spec.name}' appears twice")
        specs.append(spec)
    return tuple(specs)


def _parse_entry(entry: object) -> AttributeSpec:
    if not isinstance(entry, Mapping):
        raise ValueError("each attribute must be an object")
    unknown = set(entry) - {"name", "type", "required", "format", "label"}
    if unknown:
        raise ValueError(f"unknown attribute field(s): {', '.join(sorted(map(str, unknown)))}")
    name, kind = entry.get("name"), entry.get("type")
    if not isinstance(name, str) or not NAME.match(name) or name in RESERVED:
        raise ValueError(f"attribute name {name!r} must be 1-64 of a-z, 0-9, _ (starting with a letter), not reserved")
    if kind not in TYPES:
        raise ValueError(f"attribute '{name}': type must be one of {', '.join(TYPES)}")
    required = entry.get("required", False)
    if not isinstance(required, bool):
        raise ValueError(f"attribute '{name}': required must be true or false")
    label = entry.get("label", "")
    if not isinstance(label, str) or len(label) > 100:
        raise ValueError(f"attribute '{name}': label must be text of at most 100 characters")
    return AttributeSpec(name, kind, required, _check_format(name, kind, entry.get("format")), label)


def _check_format(name: str, kind: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"attribute '{name}': format must be text")
    if kind == "string":
        if len(value) > MAX_PATTERN:
            raise ValueError(f"attribute '{name}': format pattern longer than {MAX_PATTERN} characters")
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"attribute '{name}': format is not a valid regular expression ({error})") from None
        return value
    if value not in FORMATS.get(kind, ()):
        allowed = ", ".join(FORMATS.get(kind, ())) or "none"
        raise ValueError(f"attribute '{name}': format for type {kind} must be one of: {allowed}")
    return value


def check_attributes(
    schema: Sequence[AttributeSpec], submitted: Mapping[str, object], *, today: dt.date | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """(clean values, {name: error code}). Only attributes in the schema are kept; empty optional ones are left out."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in schema:
        raw = submitted.get(spec.name)
        try:
            value = _check_value(spec, raw, today or dt.datetime.fromtimestamp(clock.now(), dt.UTC).date())
        except _FieldError as error:
            errors[spec.name] = error.code
            continue
        if value is not None:
            values[spec.name] = value
    return values, errors


class _FieldError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _check_value(spec: AttributeSpec, raw: object, today: dt.date) -> Any:
    if spec.type == "boolean":
        flag = _boolean(raw)
        if spec.required and not flag:
            raise _FieldError("required")
        return flag
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if spec.required:
            raise _FieldError("required")
        return None
    if not isinstance(raw, str):
        raise _FieldError("invalid")
    text = raw.strip()
    if len(text) > MAX_VALUE:
        raise _FieldError("too_long")
    checker = {"string": _string, "date": _date, "phone": _phone, "url": _url}[spec.type]
    return checker(spec, text, today)


def _boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw is None:
        return False
    if isinstance(raw, str) and raw.strip().lower() in TRUE_VALUES | FALSE_VALUES:
        return raw.strip().lower() in TRUE_VALUES
    raise _FieldError("invalid")


def _string(spec: AttributeSpec, text: str, today: dt.date) -> str:
    if any(ord(c) < 0x20 for c in text):
        raise _FieldError("invalid")
    if spec.format and re.fullmatch(spec.format, text) is None:
        raise _FieldError("format")
    return text


def _date(spec: AttributeSpec, text: str, today: dt.date) -> str:
    if not DATE.match(text):
        raise _FieldError("invalid")
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        raise _FieldError("invalid") from None
    if value.year < 1900:
        raise _FieldError("invalid")
    if (spec.format == "past" and value >= today) or (spec.format == "future" and value <= today):
        raise _FieldError("format")
    return text


def _phone(spec: AttributeSpec, text: str, today: dt.date) -> str:
    number = PHONE_PUNCTUATION.sub("", text)
    if not PHONE.match(number):
        raise _FieldError("invalid")
    return number


def _url(spec: AttributeSpec, text: str, today: dt.date) -> str:
    try:
        parts = urlsplit(text)
    except ValueError:
        raise _FieldError("invalid") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
        raise _FieldError("invalid")
    if spec.format == "https" and parts.scheme != "https":
        raise _FieldError("format")
    return text

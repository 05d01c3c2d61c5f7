"""SCIM PATCH (RFC 7644 §3.5.2): ``add``/``replace``/``remove`` applied to the resource's SCIM representation,
which is then stored exactly like a PUT of the result (so PATCH and PUT share one validation path).

Paths: ``attr``, ``attr.sub``, ``attr[filter]`` and ``attr[filter].sub`` (URN-qualified core names accepted);
without a path, the value is an object of ``path: value`` pairs.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from chalicelib.web.errors import ScimError
from chalicelib.web.scim.filters import FilterAttributes, parse_filter

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS = 100
PATH = re.compile(r"^(?P<attr>[A-Za-z][\w$-]*)(?:\[(?P<filter>.+)\])?(?:\.(?P<sub>[A-Za-z][\w$-]*))?$")
READ_ONLY = ("id", "meta", "schemas")


class Attributes:
    """Canonical attribute names of a resource type: top-level names and, for complex ones, their sub-attributes."""

    def __init__(
        self,
        names: dict[str, tuple[str, ...]],
        multi_valued: tuple[str, ...],
        extensions: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.top = {n.lower(): n for n in names}
        self.sub = {n: {s.lower(): s for s in subs} for n, subs in names.items()}
        self.multi_valued = multi_valued
        # Schema extensions (RFC 7643 §3.3): held in the resource under their URN, with their own attributes.
        self.extensions = {
            urn.lower(): (urn, {a.lower(): a for a in attrs}) for urn, attrs in (extensions or {}).items()
        }

    def name(self, raw: str) -> str:
        found = self.top.get(raw.lower())
        if found is None:
            raise ScimError(400, f"Unknown attribute '{raw}'.", "invalidPath")
        return found

    def sub_name(self, attr: str, raw: str) -> str:
        found = self.sub.get(attr, {}).get(raw.lower())
        if found is None:
            raise ScimError(400, f"Unknown attribute '{attr}.{raw}'.", "invalidPath")
        return found


def _check_mutable(attr: str) -> None:
    if attr in READ_ONLY:
        raise ScimError(400, f"'{attr}' cannot be changed.", "mutability")


def _merge(target: dict[str, Any], attr: str, value: Any, attributes: Attributes) -> None:
    """add/replace of a whole attribute: complex values merge sub-attributes, multi-valued ``add`` appends."""
    if isinstance(value, dict) and attributes.sub.get(attr) and attr not in attributes.multi_valued:
        current = target.get(attr) if isinstance(target.get(attr), dict) else {}
        merged = dict(current or {})
        for key, sub_value in value.items():
            merged[attributes.sub_name(attr, key)] = sub_value
        target[attr] = merged
    else:
        target[attr] = value


def _apply(
    resource: dict[str, Any], op: str, path: str, value: Any, attributes: Attributes, filters: FilterAttributes
) -> None:
    if _apply_extension(resource, op, path, value, attributes):
        return
    if path.lower().startswith(filters.schema.lower() + ":"):
        path = path[len(filters.schema) + 1 :]
    match = PATH.match(path)
    if match is None:
        raise ScimError(400, f"The path '{path}' is not valid.", "invalidPath")
    attr = attributes.name(match["attr"])
    _check_mutable(attr)
    sub = attributes.sub_name(attr, match["sub"]) if match["sub"] else None
    if match["filter"]:
        if attr not in attributes.multi_valued:
            raise ScimError(400, f"'{attr}' is not multi-valued.", "invalidPath")
        _apply_filtered(resource, op, attr, match["filter"], sub, value, filters)
        return
    if sub is not None:
        holder = resource.get(attr)
        if attr in attributes.multi_valued:
            raise ScimError(400, f"Select the '{attr}' value with a filter.", "invalidPath")
        if op == "remove":
            if isinstance(holder, dict):
                holder.pop(sub, None)
            return
        resource[attr] = {**(holder if isinstance(holder, dict) else {}), sub: value}
        return
    if op == "remove" and attr in attributes.multi_valued and isinstance(value, list):
        # Entra ID style: remove the listed values ({"value": id}) rather than the whole attribute.
        gone = {v.get("value") for v in value if isinstance(v, dict)}
        existing = resource.get(attr) if isinstance(resource.get(attr), list) else []
        resource[attr] = [e for e in existing or [] if not (isinstance(e, dict) and e.get("value") in gone)]
    elif op == "remove":
        resource.pop(attr, None)
    elif op == "add" and attr in attributes.multi_valued:
        existing = resource.get(attr) if isinstance(resource.get(attr), list) else []
        resource[attr] = [*(existing or []), *(value if isinstance(value, list) else [value])]
    else:
        _merge(resource, attr, value, attributes)


def _apply_extension(resource: dict[str, Any], op: str, path: str, value: Any, attributes: Attributes) -> bool:
    """``urn:...:User`` (the whole extension) or ``urn:...:User:attr[.sub]``; False if the path is no extension's."""
    lowered = path.lower()
    for urn_lower, (urn, names) in attributes.extensions.items():
        if lowered != urn_lower and not lowered.startswith(urn_lower + ":"):
            continue
        current = resource.get(urn) if isinstance(resource.get(urn), dict) else {}
        extension = copy.deepcopy(current or {})
        rest = path[len(urn) + 1 :]
        if not rest:
            if op == "remove":
                extension = {}
            elif not isinstance(value, dict):
                raise ScimError(400, f"'{urn}' must be an object.", "invalidValue")
            else:
                extension.update(value)
        else:
            attr_raw, _, sub = rest.partition(".")
            attr = names.get(attr_raw.lower())
            if attr is None:
                raise ScimError(400, f"Unknown attribute '{rest}'.", "invalidPath")
            if not sub:
                if op == "remove":
                    extension.pop(attr, None)
                else:
                    extension[attr] = value
            else:
                holder = extension.get(attr) if isinstance(extension.get(attr), dict) else {}
                holder = dict(holder or {})
                if op == "remove":
                    holder.pop(sub, None)
                else:
                    holder[sub] = value
                extension[attr] = holder
        resource[urn] = extension
        return True
    return False


def _apply_filtered(
    resource: dict[str, Any],
    op: str,
    attr: str,
    text: str,
    sub: str | None,
    value: Any,
    filters: FilterAttributes,
) -> None:
    # The value filter is written relative to the attribute (``emails[type eq "work"]``).
    predicate = parse_filter(f"{attr}[{text}]", filters)
    elements = resource.get(attr) if isinstance(resource.get(attr), list) else []
    matching = [i for i, e in enumerate(elements or []) if isinstance(e, dict) and predicate({attr: [e]})]
    if not matching:
        if op == "remove":
            return
        raise ScimError(400, f"No '{attr}' value matches the filter.", "noTarget")
    for index in matching:
        element = elements[index]  # type: ignore[index]
        if op == "remove":
            if sub is None:
                element["__remove__"] = True
            else:
                element.pop(sub, None)
        elif sub is None:
            if not isinstance(value, dict):
                raise ScimError(400, f"A '{attr}' value must be an object.", "invalidValue")
            element.update(value)
        else:
            element[sub] = value
    resource[attr] = [e for e in elements or [] if not (isinstance(e, dict) and e.get("__remove__"))]


def apply_patch(
    resource: dict[str, Any], body: Any, attributes: Attributes, filters: FilterAttributes
) -> dict[str, Any]:
    """A patched copy of ``resource``; raises ScimError (invalidSyntax, invalidPath, noTarget, mutability)."""
    if not isinstance(body, dict) or PATCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"A PATCH body must carry the {PATCH_SCHEMA} schema.", "invalidSyntax")
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list) or not operations or len(operations) > MAX_OPERATIONS:
        raise ScimError(400, "'Operations' must be a list of 1-100 operations.", "invalidSyntax")
    patched = copy.deepcopy(resource)
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimError(400, "Each operation must be an object.", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise ScimError(400, "'op' must be add, replace or remove.", "invalidSyntax")
        path = operation.get("path")
        value = operation.get("value")
        if path is None:
            if op == "remove":
                raise ScimError(400, "'remove' needs a path.", "noTarget")
            if not isinstance(value, dict):
                raise ScimError(400, "Without a path the value must be an object.", "invalidValue")
            for key, item in value.items():
                _apply(patched, op, key, item, attributes, filters)
        elif not isinstance(path, str):
            raise ScimError(400, "'path' must be a string.", "invalidPath")
        else:
            if op != "remove" and "value" not in operation:
                raise ScimError(400, f"'{op}' needs a value.", "invalidValue")
            _apply(patched, op, path, value, attributes, filters)
    return patched

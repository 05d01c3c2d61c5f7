"""SCIM filter expressions (RFC 7644 §3.4.2.2): a small recursive-descent parser and an evaluator over the
resource's SCIM JSON representation.

Grammar (precedence: ``not``/parentheses, then ``and``, then ``or``)::

    filter := term ("or" term)*
    term   := factor ("and" factor)*
    factor := "not"? "(" filter ")" | path "[" filter "]" | path "pr" | path op value

Only attributes named in the resource's ``FilterAttributes`` may be used (others are ``invalidFilter``).
String comparisons ignore case unless the attribute is case-exact (RFC 7643 §2.2: ``id``, ``externalId``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.web.errors import ScimError

COMPARISONS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
MAX_FILTER_LENGTH = 2000
MAX_DEPTH = 20
TOKEN = re.compile(r'\s*(?:(?P<punct>[()\[\]])|(?P<string>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()\[\]"]+))')

Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class FilterAttributes:
    """The filterable attribute paths of a resource type: lower-case path -> (canonical path, case-exact)."""

    schema: str
    paths: dict[str, tuple[str, bool]]

    def resolve(self, raw: str, prefix: str = "") -> tuple[str, bool]:
        path = raw
        if path.lower().startswith(self.schema.lower() + ":"):
            path = path[len(self.schema) + 1 :]
        full = f"{prefix}.{path}" if prefix else path
        found = self.paths.get(full.lower())
        if found is None:
            raise invalid_filter(f"Filtering on '{raw}' is not supported.")
        return found


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise invalid_filter("The filter is not valid.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def values_at(resource: dict[str, Any], path: str) -> list[Any]:
    """All values at a canonical dotted path, flattening multi-valued attributes."""
    current: list[Any] = [resource]
    for part in path.split("."):
        following: list[Any] = []
        for value in current:
            if isinstance(value, list):
                following.extend(v.get(part) for v in value if isinstance(v, dict) and part in v)
            elif isinstance(value, dict) and part in value:
                following.append(value[part])
        current = following
    flat: list[Any] = []
    for value in current:
        flat.extend(value if isinstance(value, list) else [value])
    return [v for v in flat if v is not None]


def _compare(op: str, actual: Any, expected: Any, case_exact: bool) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool) or expected is None:
        return op == "eq" and actual == expected
    if isinstance(actual, str) and isinstance(expected, str):
        if not case_exact:
            actual, expected = actual.lower(), expected.lower()
    elif not (isinstance(actual, int | float) and isinstance(expected, int | float)):
        return False
    if op == "eq":
        return bool(actual == expected)
    if op in ("co", "sw", "ew"):
        if not isinstance(actual, str):
            raise invalid_filter(f"'{op}' needs a string attribute.")
        return {"co": expected in actual, "sw": actual.startswith(expected), "ew": actual.endswith(expected)}[op]
    ordering: dict[str, bool] = {
        "gt": actual > expected,
        "ge": actual >= expected,
        "lt": actual < expected,
        "le": actual <= expected,
    }
    return ordering[op]


class _Parser:
    def __init__(self, text: str, attributes: FilterAttributes) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.attributes = attributes
        self.depth = 0

    def peek_word(self) -> str | None:
        if self.position < len(self.tokens) and self.tokens[self.position][0] == "word":
            return self.tokens[self.position][1].lower()
        return None

    def take(self, kind: str, value: str | None = None) -> str:
        if self.position >= len(self.tokens):
            raise invalid_filter("The filter ends too early.")
        token_kind, token = self.tokens[self.position]
        if token_kind != kind or (value is not None and token.lower() != value):
            raise invalid_filter(f"Unexpected '{token}' in the filter.")
        self.position += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.expression("")
        if self.position != len(self.tokens):
            raise invalid_filter(f"Unexpected '{self.tokens[self.position][1]}' in the filter.")
        return predicate

    def expression(self, prefix: str) -> Predicate:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise invalid_filter("The filter is nested too deeply.")
        terms = [self.term(prefix)]
        while self.peek_word() == "or":
            self.position += 1
            terms.append(self.term(prefix))
        self.depth -= 1
        if len(terms) == 1:
            return terms[0]
        return lambda resource: any(t(resource) for t in terms)

    def term(self, prefix: str) -> Predicate:
        factors = [self.factor(prefix)]
        while self.peek_word() == "and":
            self.position += 1
            factors.append(self.factor(prefix))
        if len(factors) == 1:
            return factors[0]
        return lambda resource: all(f(resource) for f in factors)

    def factor(self, prefix: str) -> Predicate:
        if self.peek_word() == "not":
            self.position += 1
            self.take("punct", "(")
            inner = self.expression(prefix)
            self.take("punct", ")")
            return lambda resource: not inner(resource)
        if self.position < len(self.tokens) and self.tokens[self.position] == ("punct", "("):
            self.position += 1
            inner = self.expression(prefix)
            self.take("punct", ")")
            return inner
        raw = self.take("word")
        if self.position < len(self.tokens) and self.tokens[self.position] == ("punct", "["):
            if prefix:
                raise invalid_filter("Value filters cannot be nested.")
            self.position += 1
            multi = self.attributes.resolve(raw)[0].split(".", 1)[0]
            inner = self.expression(multi)
            self.take("punct", "]")
            return lambda resource: any(
                inner(element) for element in _elements(resource, multi) if isinstance(element, dict)
            )
        path, case_exact = self.attributes.resolve(raw, prefix)
        if prefix:
            path = path[len(prefix) + 1 :]
        op = self.take("word").lower()
        if op == "pr":
            return lambda resource: any(v not in ("", [], {}) for v in values_at(resource, path))
        if op not in COMPARISONS:
            raise invalid_filter(f"Unknown operator '{op}'.")
        expected = self.value()
        if op == "ne":
            return lambda resource: not any(_compare("eq", v, expected, case_exact) for v in values_at(resource, path))
        return lambda resource: any(_compare(op, v, expected, case_exact) for v in values_at(resource, path))

    def value(self) -> Any:
        if self.position >= len(self.tokens) or self.tokens[self.position][0] == "punct":
            raise invalid_filter("A comparison needs a value.")
        _, token = self.tokens[self.position]
        self.position += 1
        try:
            value = json.loads(token)
        except ValueError as error:
            raise invalid_filter(f"'{token}' is not a valid value.") from error
        if isinstance(value, list | dict):
            raise invalid_filter(f"'{token}' is not a valid value.")
        return value


def _elements(resource: dict[str, Any], path: str) -> list[Any]:
    value = resource.get(path)
    return value if isinstance(value, list) else []


def parse_filter(text: str, attributes: FilterAttributes) -> Predicate:
    """A predicate over SCIM JSON resources; raises ScimError(400, invalidFilter) for anything it cannot parse."""
    if not text.strip() or len(text) > MAX_FILTER_LENGTH:
        raise invalid_filter("The filter is empty or too long.")
    return _Parser(text, attributes).parse()

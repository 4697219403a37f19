"""Label and field selectors as a kube-apiserver parses them (k8s.io/apimachinery labels/fields).

Used by the fake apiserver only. A selector that does not parse raises `SelectorError`, which the
fake turns into HTTP 400 BadRequest like the real server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
_KEY_RE = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_VALUE_RE = re.compile(rf"^({_NAME})?$")


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # exists, !, =, !=, in, notin
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if self.op == "=":
            return has and value == self.values[0]
        if self.op == "!=":
            return not has or value != self.values[0]
        if self.op == "in":
            return has and value in self.values
        return not has or value not in self.values  # notin


def _check_key(key: str) -> str:
    if not key or len(key.split("/")[-1]) > 63 or not _KEY_RE.match(key):
        raise SelectorError(
            f'unable to parse requirement: <nil>: Invalid value: "{key}": name part must consist of '
            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return key


def _check_value(key: str, value: str) -> str:
    if len(value) > 63 or not _VALUE_RE.match(value):
        raise SelectorError(
            f'unable to parse requirement: values[0][{key}]: Invalid value: "{value}": a valid label must be '
            "an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character"
        )
    return value


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"found ')', expected: identifier in selector {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise SelectorError(f"found '', expected: ')' in selector {text!r}")
    parts.append("".join(cur))
    return parts


_SET_RE = re.compile(r"^\s*(\S+)\s+(in|notin)\s*\((.*)\)\s*$")


def parse_label_selector(text: str | None) -> list[Requirement]:
    if text is None or not text.strip():
        return []
    reqs: list[Requirement] = []
    for raw in _split_top(text):
        part = raw.strip()
        if not part:
            raise SelectorError(f"found '', expected: !, identifier, or 'end of string' in selector {text!r}")
        m = _SET_RE.match(part)
        if m:
            key, op, inner = m.group(1), m.group(2), m.group(3)
            values = tuple(_check_value(key, v.strip()) for v in inner.split(","))
            reqs.append(Requirement(_check_key(key), op, values))
            continue
        if part.startswith("!"):
            reqs.append(Requirement(_check_key(part[1:].strip()), "!"))
            continue
        for op_text, op in (("!=", "!="), ("==", "="), ("=", "=")):  # noqa: B007 - op is used after the loop
            if op_text in part:
                key, _, value = part.partition(op_text)
                key, value = key.strip(), value.strip()
                if any(c in value for c in "=!() "):
                    raise SelectorError(f"unable to parse requirement: found '{value}', expected: identifier")
                reqs.append(Requirement(_check_key(key), op, (_check_value(key, value),)))
                break
        else:
            if " " in part:
                raise SelectorError(f"unable to parse requirement: found '{part}', expected: in, notin, =, ==, !=")
            reqs.append(Requirement(_check_key(part), "exists"))
    return reqs


def labels_match(reqs: list[Requirement], obj: dict[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    op: str  # = or !=
    value: str


def parse_field_selector(text: str | None, supported: frozenset[str]) -> list[FieldRequirement]:
    if text is None or not text.strip():
        return []
    out = []
    for raw in text.split(","):
        part = raw.strip()
        for op_text, op in (("!=", "!="), ("==", "="), ("=", "=")):  # noqa: B007 - op is used after the loop
            if op_text in part:
                name, _, value = part.partition(op_text)
                break
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        name = name.strip()
        if name not in supported:
            raise SelectorError(f'field label not supported: {name}')
        out.append(FieldRequirement(name, op, value.strip()))
    return out


def field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def fields_match(reqs: list[FieldRequirement], obj: dict[str, Any]) -> bool:
    for r in reqs:
        value = field_value(obj, r.field)
        if (value == r.value) != (r.op == "="):
            return False
    return True


Matcher = Callable[[dict[str, Any]], bool]

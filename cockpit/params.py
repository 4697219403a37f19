"""Action parameters from text (`cockpit action run k=v`, the screen's `:` line) and the strict
checks every parameter dict passes before the model sees it.

Text values stay strings unless the action's model says the field is something else: an integer
field takes only decimal digits (`true`, `1e0`, `1.0` are refused, never turned into job 1), a
list/dict/model field takes JSON. Whatever the origin (text, plan YAML, API), an integer field
refuses booleans and floats, and integers outside 64 bits, naming the parameter.
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # imported where a model is inspected: the screen's first frame needs no pydantic
    from pydantic import BaseModel

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_INT_DIGITS = 19
_INT_TEXT = re.compile(r"[+-]?[0-9]+")


class ParamError(ValueError):
    """A parameter value the model must not see; the message names the parameter."""


class TextParams(dict):  # type: ignore[type-arg]
    """Parameters typed by a person as key=value text: converted by the action's model."""


def _members(annotation: Any) -> list[Any]:
    """The concrete types a field accepts (Annotated and Optional/Union unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                out.extend(_members(arg))
        return out
    return [annotation]


def _kind(annotation: Any) -> str:
    """text | int | json | other (left to the model: bool, float, Any)."""
    from pydantic import BaseModel

    members = _members(annotation)
    if not members or any(m is Any for m in members):
        return "other"
    for m in members:
        textual = isinstance(m, type) and issubclass(m, (str, enum.Enum, PurePath))
        if m is str or typing.get_origin(m) is typing.Literal or textual:
            return "text"
    if all(m is int for m in members):
        return "int"
    if any(typing.get_origin(m) in (list, dict, tuple, set, frozenset) or m in (list, dict, tuple, set)
           or (isinstance(m, type) and issubclass(m, BaseModel)) for m in members):
        return "json"
    return "other"


def _int_from_text(name: str, value: str) -> int:
    text = value.strip()
    if not _INT_TEXT.fullmatch(text):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ParamError(f"{name}: must be a whole number (digits only), got {shown!r}")
    digits = len(text.lstrip("+-"))
    if digits > MAX_INT_DIGITS:
        raise ParamError(f"{name}: a number with {digits} digits is out of range")
    return int(text)


def _check_int(name: str, value: Any) -> Any:
    if isinstance(value, bool):
        raise ParamError(f"{name}: must be a whole number, got {str(value).lower()} (a boolean)")
    if isinstance(value, float):
        raise ParamError(f"{name}: must be a whole number, got {value!r} (a decimal)")
    if isinstance(value, str):
        return _int_from_text(name, value)
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise ParamError(f"{name}: {str(value)[:24]}... is out of range" if len(str(value)) > 24
                         else f"{name}: {value} is out of range")
    return value


def prepare_raw(model: type[BaseModel], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The dict to validate: text converted field by field, integer fields checked strictly.
    Raises ParamError naming the first bad parameter."""
    fields = model.model_fields
    from_text = isinstance(raw, TextParams)
    out: dict[str, Any] = {}
    for name, value in raw.items():
        field = fields.get(name) or next((f for f in fields.values() if f.alias == name), None)
        kind = _kind(field.annotation) if field is not None else "text"
        if from_text and isinstance(value, str) and kind == "json":
            try:
                value = json.loads(value)
            except (json.JSONDecodeError, RecursionError, ValueError) as exc:
                raise ParamError(f"{name}: expected JSON for this parameter ({str(exc)[:80]})") from None
        if kind == "int":
            value = _check_int(name, value)
        out[name] = value
    return out

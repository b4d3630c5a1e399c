"""Dataclass records that write themselves as JSON and read themselves back, checked.

A record is a dataclass. Its annotations are the schema: :func:`to_json` writes the
fields as JSON values (enums as their value, non-finite floats as null), and
:func:`from_json` reads them back, checking each value against its field's type, so a
file that is not what profkit wrote is refused with the path of the field.
A field with a default may be absent; a key the record does not know is ignored
(a newer profkit may write more).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
import types
import typing
from array import array
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, Union

from profkit.model import JSON

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")

#: ``JSON`` as the annotations evaluate it: any JSON value, not checked further.
_JSON_HINT = typing.get_type_hints(type("_Hint", (), {"__annotations__": {"v": "JSON"}}),
                                   {"JSON": JSON})["v"]


class RecordError(ValueError):
    """A JSON value does not have the type its record's field declares."""

    def __init__(self, where: str, expected: str, value: object) -> None:
        self.where = where
        super().__init__(f"{where} should be {expected}, not {_shown(value)}")


_MISSING = object()


def _shown(value: object) -> str:
    """A JSON value as an error message names it: a short scalar as JSON, else its kind."""
    if value is _MISSING:
        return "missing"
    if value is None or isinstance(value, (bool, int, float, str)):
        text = json.dumps(value)
        if len(text) <= 40:
            return text.replace('"', "'")
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) \
        else "a long string" if isinstance(value, str) else f"a {type(value).__name__}"


def to_json(value: object) -> JSON:
    """A record (or any value it holds) as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, array)):
        return [to_json(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return to_json(value.item())
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_HINTS: dict[type, dict[str, object]] = {}


def _hints(cls: type) -> dict[str, object]:
    """A record's field types, evaluated once."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
    return _HINTS[cls]


def from_json(cls: type[R], data: object, where: str) -> R:
    """The record ``cls`` read from parsed JSON ``data``; RecordError names the first bad field."""
    if not isinstance(data, dict):
        raise RecordError(where, "an object", data)
    hints = _hints(cls)
    values: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise RecordError(_join(where, f.name), _describe(hints[f.name]), _MISSING)
            continue
        values[f.name] = _read(hints[f.name], data[f.name], _join(where, f.name))
    return cls(**values)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _describe(hint: object) -> str:
    """A field's type in words, for an error message."""
    if hint == _JSON_HINT or hint is Any:
        return "a JSON value"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is list:
        return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
    if origin is dict:
        return f"an object of {_describe(args[1]).removeprefix('a ').removeprefix('an ')}s"
    if hint is type(None):
        return "null"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "one of " + ", ".join(str(m.value) for m in hint)
    if dataclasses.is_dataclass(hint):
        return "an object"
    names: dict[object, str] = {bool: "a boolean", int: "an integer", float: "a number",
                                str: "a string"}
    return names.get(hint, str(hint))


def _read(hint: object, value: object, where: str) -> object:
    """``value`` checked against ``hint`` (and converted: enums, records, floats)."""
    if hint == _JSON_HINT or hint is Any:
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        errors: list[RecordError] = []
        for arg in args:
            try:
                return _read(arg, value, where)
            except RecordError as exc:
                errors.append(exc)
        # an object or a list that one arm reads but finds fault inside: that arm's error names
        # the field at fault
        inner = [e for e in errors if e.where != where]
        if len(inner) == 1:
            raise inner[0]
        raise RecordError(where, _describe(hint), value)
    if origin is list:
        if not isinstance(value, list):
            raise RecordError(where, _describe(hint), value)
        return [_read(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise RecordError(where, _describe(hint), value)
        return {k: _read(args[1], v, _join(where, k)) for k, v in value.items()}
    if hint is type(None):
        if value is None:
            return None
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            pass
    elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_json(hint, value, where)
    elif hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"{where}: a record field of type {hint!r} cannot be read")
    raise RecordError(where, _describe(hint), value)

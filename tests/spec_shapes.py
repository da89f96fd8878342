"""The shape of a JSON value, and where two shapes differ.

A shape keeps what a message is made of and drops what it says: the keys of each object
and how they nest, and the JSON type of every value (object, array, string, number, bool,
null; an int and a float are both a number). The items of an array are taken together:
their shape is the union of the shapes of all of them, so an array whose entries differ
(a device condition and a timer condition in one list) has the keys of both.

    compare(shape_of(built), shape_of(example))
    -> [Difference("data.devices[].pid", MISSING, ...), ...]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import reduce
from types import MappingProxyType
from typing import Any, Final

OBJECT: Final = "object"
ARRAY: Final = "array"
STRING: Final = "string"
NUMBER: Final = "number"
BOOL: Final = "bool"
NULL: Final = "null"

MISSING: Final = "missing key"
"""The example has the key, the value compared with it does not."""
EXTRA: Final = "extra key"
"""The value compared has a key the example does not."""
TYPE: Final = "type differs"


@dataclass(frozen=True)
class Shape:
    """The types a value takes; for objects the shape of each key, for arrays of the items."""

    types: frozenset[str]
    keys: Mapping[str, Shape] = field(default_factory=lambda: MappingProxyType({}))
    items: Shape | None = None
    """The union of the items' shapes; None when every array seen was empty."""

    def __str__(self) -> str:
        return "|".join(sorted(self.types))


@dataclass(frozen=True, order=True)
class Difference:
    path: str
    """Where, from the root: ``data.devices[].pid`` (``[]`` stands for any item)."""
    kind: str
    """`MISSING`, `EXTRA` or `TYPE`."""
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}" + (f" ({self.detail})" if self.detail else "")


def json_type(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, Mapping):
        return OBJECT
    if isinstance(value, list | tuple):
        return ARRAY
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def shape_of(value: Any) -> Shape:
    kind = json_type(value)
    if kind == OBJECT:
        return Shape(
            frozenset({OBJECT}), MappingProxyType({k: shape_of(v) for k, v in value.items()})
        )
    if kind == ARRAY:
        items = [shape_of(item) for item in value]
        return Shape(frozenset({ARRAY}), items=reduce(union, items) if items else None)
    return Shape(frozenset({kind}))


def union(first: Shape, second: Shape) -> Shape:
    """A shape that has every type, key and item shape of both."""
    keys = dict(first.keys)
    for key, shape in second.keys.items():
        keys[key] = union(keys[key], shape) if key in keys else shape
    items = first.items
    if second.items is not None:
        items = second.items if items is None else union(items, second.items)
    return Shape(first.types | second.types, MappingProxyType(keys), items)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def compare(actual: Shape, expected: Shape, path: str = "") -> list[Difference]:
    """Where `actual` departs from `expected`, sorted by path.

    Keys are compared only where both sides are objects, items only where both are arrays
    with items: an empty array matches any array.
    """
    found: list[Difference] = []
    if actual.types != expected.types:
        found.append(Difference(path, TYPE, f"{actual} where the example has {expected}"))
    if OBJECT in actual.types and OBJECT in expected.types:
        for key in expected.keys.keys() - actual.keys.keys():
            found.append(Difference(_join(path, key), MISSING, str(expected.keys[key])))
        for key in actual.keys.keys() - expected.keys.keys():
            found.append(Difference(_join(path, key), EXTRA, str(actual.keys[key])))
        for key in actual.keys.keys() & expected.keys.keys():
            found += compare(actual.keys[key], expected.keys[key], _join(path, key))
    if actual.items is not None and expected.items is not None:
        found += compare(actual.items, expected.items, f"{path}[]")
    return sorted(found)


def differences(actual: Any, expected: Any, root: str = "") -> list[Difference]:
    """`compare` for two JSON values."""
    return compare(shape_of(actual), shape_of(expected), root)

"""Object models (``model`` / ``sub_model`` replies) and the values they allow.

The platform returns a model in one of three formats (complete, simple, mini) that name
the same things differently. `parse_model` reads any of them into one frozen form;
`model_to_format` writes that form back out in the format a device asks for; `validate`
and `encode_value` check and shape a value for a property before it goes to a device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from .errors import ModelError, ValueRejected


class ModelFormat(StrEnum):
    COMPLETE = "complete"
    SIMPLE = "simple"
    MINI = "mini"


class DataType(StrEnum):
    INT = "int"
    FLOAT = "float"
    DOUBLE = "double"
    TEXT = "text"
    DATE = "date"
    BOOL = "bool"
    ENUM = "enum"
    STRUCT = "struct"
    ARRAY = "array"


class Access(StrEnum):
    READ = "r"
    READ_WRITE = "rw"


class BoolEncoding(StrEnum):
    """How a device spells booleans: the model says 0/1, many firmwares send true/false."""

    INT = "int"
    JSON = "json"


NUMERIC_TYPES: Final = frozenset({DataType.INT, DataType.FLOAT, DataType.DOUBLE})
MAX_TEXT_LENGTH: Final = 10240
MAX_ARRAY_SIZE: Final = 512
_ACCESS_ALIASES: Final = {"r": Access.READ, "rw": Access.READ_WRITE, "w": Access.READ_WRITE}
_TRUE_WORDS: Final = frozenset({"1", "true", "on"})
_FALSE_WORDS: Final = frozenset({"0", "false", "off"})


@dataclass(frozen=True, slots=True)
class Property:
    """One data point (or a struct member, or an array's item) of an object model."""

    identifier: str
    type: DataType
    name: str | None = None
    business_id: str | None = None
    access: Access | None = None
    """None when the format does not say (simple and mini)."""
    required: bool = False
    min: float | None = None
    max: float | None = None
    step: float | None = None
    unit: str | None = None
    unit_name: str | None = None
    length: int | None = None
    size: int | None = None
    enums: tuple[str, ...] = ()
    enum_labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    members: tuple[Property, ...] = ()
    item: Property | None = None

    @property
    def writable(self) -> bool:
        return self.access is not Access.READ

    def member(self, identifier: str) -> Property | None:
        return next((m for m in self.members if m.identifier == identifier), None)


@dataclass(frozen=True, slots=True)
class ModelEvent:
    """An event a device may raise with the ``event`` code."""

    identifier: str
    name: str | None = None
    type: str | None = None
    outputs: tuple[Property, ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectModel:
    """A product's object model, whatever format it arrived in."""

    product_id: str | None
    version: str | None
    format: ModelFormat
    properties: tuple[Property, ...]
    events: tuple[ModelEvent, ...] = ()
    product_name: str | None = None
    """The product's name, where the model file carries one (`profile.productName`)."""
    _by_id: Mapping[str, Property] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_by_id", MappingProxyType({p.identifier: p for p in self.properties})
        )

    def property(self, identifier: str) -> Property | None:
        return self._by_id.get(identifier)


# --- parsing ---------------------------------------------------------------------------


def _first(raw: Mapping[str, Any], *keys: str) -> Any:
    return next((raw[k] for k in keys if raw.get(k) is not None), None)


def _optional_text(value: Any, path: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ModelError(f"expected text, got {type(value).__name__}", field=path)


def _number(value: Any, path: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ModelError("expected a number, got a boolean", field=path)
    try:
        number = float(value)
    except TypeError, ValueError:
        raise ModelError(f"expected a number, got {value!r}", field=path) from None
    if not math.isfinite(number):
        raise ModelError("expected a finite number", field=path)
    return number


def _count(value: Any, path: str, ceiling: int) -> int | None:
    number = _number(value, path)
    if number is None:
        return None
    if not number.is_integer() or not 0 <= number <= ceiling:
        raise ModelError(f"expected a whole number from 0 to {ceiling}", field=path)
    return int(number)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_WORDS
    return bool(value)


def _data_type(value: Any, path: str) -> DataType:
    try:
        return DataType(str(value).strip().lower())
    except ValueError:
        raise ModelError(f"unknown data type {value!r}", field=path) from None


def _enums(value: Any, path: str) -> tuple[tuple[str, ...], Mapping[str, str]]:
    if value is None:
        return (), MappingProxyType({})
    if isinstance(value, Mapping):  # {"0": "off", "1": "on"}: values with labels
        return tuple(str(k) for k in value), MappingProxyType(
            {str(k): str(v) for k, v in value.items()}
        )
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(str(v) for v in value), MappingProxyType({})
    raise ModelError("expected a list of values", field=path)


def _type_and_specs(raw: Mapping[str, Any], path: str) -> tuple[DataType, Any, str]:
    """Find the data type and its specs wherever the format keeps them."""
    data_type = raw.get("dataType")
    if isinstance(data_type, Mapping):  # complete
        type_name = data_type.get("type") or raw.get("dataTypeStr")
        return (
            _data_type(type_name, f"{path}.dataType.type"),
            data_type.get("specs"),
            f"{path}.dataType.specs",
        )
    type_name = _first(raw, "dataTypeStr", "t") if data_type is None else data_type
    if type_name is None:
        raise ModelError("has no data type", field=path)
    return _data_type(type_name, f"{path}.dataType"), raw.get("specs"), f"{path}.specs"


def parse_property(raw: Any, path: str = "property") -> Property:
    """Read one property in any of the three formats."""
    if not isinstance(raw, Mapping):
        raise ModelError("expected an object", field=path)
    identifier = _first(raw, "identifier", "i")
    if not isinstance(identifier, str) or not identifier:
        raise ModelError("has no identifier", field=path)
    path = f"{path}({identifier})"
    data_type, specs, specs_path = _type_and_specs(raw, path)
    access_raw = raw.get("accessMode")
    access = None
    if access_raw is not None:
        access = _ACCESS_ALIASES.get(str(access_raw).strip().lower())
        if access is None:
            raise ModelError(f"unknown access mode {access_raw!r}", field=f"{path}.accessMode")
    common: dict[str, Any] = {
        "identifier": identifier,
        "type": data_type,
        "name": _optional_text(raw.get("name"), f"{path}.name"),
        "business_id": _optional_text(_first(raw, "dpBusiId", "busiId", "b"), f"{path}.busiId"),
        "access": access,
        "required": _flag(raw.get("required", False)),
    }
    if data_type is DataType.STRUCT:
        return Property(**common, members=_members(specs, specs_path))
    if specs is None:
        specs = {}
    if not isinstance(specs, Mapping):
        raise ModelError("expected an object", field=specs_path)
    enums, labels = _enums(specs.get("enums"), f"{specs_path}.enums")
    minimum = _number(specs.get("min"), f"{specs_path}.min")
    maximum = _number(specs.get("max"), f"{specs_path}.max")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise ModelError(f"min {minimum:g} is above max {maximum:g}", field=specs_path)
    step = _number(specs.get("step"), f"{specs_path}.step")
    if step is not None and step <= 0:
        step = None  # 0 means "no step" in the platform's console
    item = None
    if data_type is DataType.ARRAY and specs.get("item") is not None:  # mini models omit it
        item = _array_item(specs["item"], identifier, f"{specs_path}.item")
    return Property(
        **common,
        min=minimum,
        max=maximum,
        step=step,
        unit=_optional_text(specs.get("unit"), f"{specs_path}.unit"),
        unit_name=_optional_text(specs.get("unitName"), f"{specs_path}.unitName"),
        length=_count(specs.get("length"), f"{specs_path}.length", MAX_TEXT_LENGTH),
        size=_count(specs.get("size"), f"{specs_path}.size", MAX_ARRAY_SIZE),
        enums=enums,
        enum_labels=labels,
        item=item,
    )


def _members(specs: Any, path: str) -> tuple[Property, ...]:
    if specs is None:
        return ()
    if not isinstance(specs, Sequence) or isinstance(specs, str):
        raise ModelError("struct members must be a list", field=path)
    return tuple(parse_property(m, f"{path}[{i}]") for i, m in enumerate(specs))


def _array_item(raw: Any, owner: str, path: str) -> Property:
    if not isinstance(raw, Mapping) or raw.get("type") is None:
        raise ModelError("expected an object with the item type", field=path)
    item_type = _data_type(raw["type"], f"{path}.type")
    if item_type in (DataType.ARRAY, DataType.DATE, DataType.BOOL, DataType.ENUM):
        raise ModelError(f"arrays cannot hold {item_type}", field=f"{path}.type")
    specs = raw.get("specs")
    if item_type is DataType.STRUCT:
        return Property(identifier=owner, type=item_type, members=_members(specs, f"{path}.specs"))
    return parse_property({"identifier": owner, "dataType": item_type, "specs": specs or {}}, path)


def _parse_event(raw: Any, path: str) -> ModelEvent:
    if not isinstance(raw, Mapping):
        raise ModelError("expected an object", field=path)
    identifier = _first(raw, "identifier", "i")
    if not isinstance(identifier, str) or not identifier:
        raise ModelError("has no identifier", field=path)
    outputs = _first(raw, "outputData", "output", "params") or ()
    if not isinstance(outputs, Sequence) or isinstance(outputs, str):
        raise ModelError("outputs must be a list", field=f"{path}({identifier}).outputData")
    return ModelEvent(
        identifier=identifier,
        name=_optional_text(raw.get("name"), f"{path}.name"),
        type=_optional_text(raw.get("type"), f"{path}.type"),
        outputs=tuple(
            parse_property(o, f"{path}({identifier}).outputData[{i}]")
            for i, o in enumerate(outputs)
        ),
    )


def _detect_format(data: Mapping[str, Any], properties: Sequence[Any]) -> ModelFormat:
    declared = data.get("format")
    if declared is not None:
        try:
            return ModelFormat(declared)
        except ValueError:
            raise ModelError(f"unknown format {declared!r}", field="format") from None
    sample = next((p for p in properties if isinstance(p, Mapping)), {})
    if "i" in sample:
        return ModelFormat.MINI
    return (
        ModelFormat.COMPLETE if isinstance(sample.get("dataType"), Mapping) else ModelFormat.SIMPLE
    )


def parse_model(data: Any) -> ObjectModel:
    """Read the ``data`` of a ``model`` / ``sub_model`` reply, or a model file, in any format."""
    if not isinstance(data, Mapping):
        raise ModelError("expected an object", field="model")
    properties = data.get("properties", [])
    if not isinstance(properties, Sequence) or isinstance(properties, str):
        raise ModelError("expected a list", field="properties")
    events = data.get("events") or []
    if not isinstance(events, Sequence) or isinstance(events, str):
        raise ModelError("expected a list", field="events")
    profile = data.get("profile")
    if profile is None:
        profile = {}
    if not isinstance(profile, Mapping):
        raise ModelError("expected an object", field="profile")
    parsed = tuple(parse_property(p, f"properties[{i}]") for i, p in enumerate(properties))
    seen: set[str] = set()
    for prop in parsed:
        if prop.identifier in seen:
            raise ModelError(f"identifier {prop.identifier!r} appears twice", field="properties")
        seen.add(prop.identifier)
    return ObjectModel(
        product_id=_optional_text(
            _first(profile, "productId") or data.get("subPid"), "profile.productId"
        ),
        version=_optional_text(profile.get("version"), "profile.version"),
        format=_detect_format(data, properties),
        properties=parsed,
        events=tuple(_parse_event(e, f"events[{i}]") for i, e in enumerate(events)),
        product_name=_optional_text(profile.get("productName"), "profile.productName"),
    )


# --- writing a model in a requested format ----------------------------------------------


def _exact_text(number: float) -> str:
    """A number as the platform writes specs (text), with every digit it has: 16777215
    stays "16777215" and 0.1 "0.1"."""
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def _specs_json(prop: Property) -> dict[str, Any] | list[dict[str, Any]]:
    if prop.type is DataType.STRUCT:
        return [_property_json(m, ModelFormat.COMPLETE) for m in prop.members]
    specs: dict[str, Any] = {}
    for key, value in (
        ("min", prop.min),
        ("max", prop.max),
        ("step", prop.step),
        ("unit", prop.unit),
        ("unitName", prop.unit_name),
        ("length", prop.length),
        ("size", prop.size),
    ):
        if value is not None:
            specs[key] = _exact_text(value) if isinstance(value, float) else value
    if prop.enum_labels:
        specs["enums"] = dict(prop.enum_labels)
    elif prop.enums:
        specs["enums"] = list(prop.enums)
    if prop.item is not None:
        item: dict[str, Any] = {"type": str(prop.item.type)}
        item_specs = _specs_json(prop.item)
        if item_specs:
            item["specs"] = item_specs
        specs["item"] = item
    return specs


def _property_json(prop: Property, fmt: ModelFormat) -> dict[str, Any]:
    if fmt is ModelFormat.MINI:
        mini: dict[str, Any] = {"i": prop.identifier, "t": str(prop.type)}
        if prop.business_id is not None:
            mini["b"] = prop.business_id
        return mini
    if fmt is ModelFormat.SIMPLE:
        simple: dict[str, Any] = {"identifier": prop.identifier, "dataType": str(prop.type)}
        if prop.business_id is not None:
            simple["busiId"] = prop.business_id
        simple["specs"] = _specs_json(prop)
        return simple
    complete: dict[str, Any] = {"identifier": prop.identifier}
    if prop.business_id is not None:
        complete["dpBusiId"] = prop.business_id
    if prop.name is not None:
        complete["name"] = prop.name
    if prop.access is not None:
        complete["accessMode"] = str(prop.access)
    complete["required"] = prop.required
    complete["dataTypeStr"] = str(prop.type)
    complete["dataType"] = {"type": str(prop.type), "specs": _specs_json(prop)}
    return complete


def model_to_format(model: ObjectModel, fmt: ModelFormat) -> dict[str, Any]:
    """The ``data`` of a ``model`` reply in format `fmt` (mini carries no events)."""
    out: dict[str, Any] = {
        "format": str(fmt),
        "profile": {"version": model.version or "", "productId": model.product_id or ""},
        "properties": [_property_json(p, fmt) for p in model.properties],
    }
    if fmt is not ModelFormat.MINI:
        out["events"] = [
            {
                "identifier": e.identifier,
                **({"name": e.name} if e.name is not None else {}),
                **({"type": e.type} if e.type is not None else {}),
                "outputData": [_property_json(o, ModelFormat.COMPLETE) for o in e.outputs],
            }
            for e in model.events
        ]
    return out


# --- values -----------------------------------------------------------------------------


def _reject(prop: Property, rule: str, detail: str) -> ValueRejected:
    return ValueRejected(prop.identifier, rule, detail)


def _as_number(prop: Property, value: Any) -> float:
    if isinstance(value, bool):
        raise _reject(prop, "type", "expected a number, got a boolean")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _reject(prop, "type", f"expected a number, got {value!r}") from None
    else:
        raise _reject(prop, "type", f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise _reject(prop, "type", "expected a finite number")
    return number


def _check_numeric(prop: Property, value: Any) -> int | float:
    number = _as_number(prop, value)
    if prop.min is not None and number < prop.min:
        raise _reject(prop, "min", f"{number:g} is below the minimum {prop.min:g}")
    if prop.max is not None and number > prop.max:
        raise _reject(prop, "max", f"{number:g} is above the maximum {prop.max:g}")
    if prop.step is not None:
        base = prop.min or 0.0
        steps = (number - base) / prop.step
        if abs(steps - round(steps)) > 1e-6:
            raise _reject(prop, "step", f"{number:g} is not a multiple of the step {prop.step:g}")
        number = round(
            base + round(steps) * prop.step, 10
        )  # drop float noise such as 0.30000000000000004
    if prop.type is DataType.INT:
        if not number.is_integer():
            raise _reject(prop, "type", f"expected a whole number, got {number:g}")
        return int(number)
    return number


def _check_bool(prop: Property, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise _reject(prop, "type", f"expected true/false or 0/1, got {value!r}")


def _check_enum(prop: Property, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _reject(prop, "type", f"expected one of {list(prop.enums)}, got {value!r}")
    key = str(value).strip()
    if not prop.enums:  # a mini model lists no values: any is taken as given
        return key
    if key not in prop.enums:
        by_label = {label: k for k, label in prop.enum_labels.items()}
        if key not in by_label:
            raise _reject(prop, "enum", f"{value!r} is not one of {list(prop.enums)}")
        key = by_label[key]
    return key


def _check_text(prop: Property, value: Any) -> str:
    if not isinstance(value, str):
        raise _reject(prop, "type", f"expected text, got {type(value).__name__}")
    limit = prop.length or MAX_TEXT_LENGTH
    if len(value) > limit:
        raise _reject(prop, "length", f"{len(value)} characters is longer than {limit}")
    return value


def _check_date(prop: Property, value: Any) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _reject(prop, "type", "a date needs a time zone")
        return int(value.timestamp() * 1000)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _reject(prop, "type", f"expected UTC milliseconds, got {value!r}")


def _check_struct(prop: Property, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _reject(prop, "type", f"expected an object, got {type(value).__name__}")
    if not prop.members:  # a mini model lists no members
        return dict(value)
    result: dict[str, Any] = {}
    for key, member_value in value.items():
        member = prop.member(str(key))
        if member is None:
            raise _reject(prop, "member", f"has no member {key!r}")
        try:
            result[member.identifier] = validate(member, member_value)
        except ValueRejected as err:
            raise ValueRejected(
                f"{prop.identifier}.{err.identifier}", err.rule, err.detail
            ) from None
    return result


def _check_array(prop: Property, value: Any) -> list[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise _reject(prop, "type", f"expected a list, got {type(value).__name__}")
    limit = prop.size or MAX_ARRAY_SIZE
    if len(value) > limit:
        raise _reject(prop, "size", f"{len(value)} items is more than {limit}")
    if prop.item is None:
        return list(value)
    items = []
    for index, item in enumerate(value):
        try:
            items.append(validate(prop.item, item))
        except ValueRejected as err:
            # The item shares its owner's identifier; name the position instead.
            inner = err.identifier.removeprefix(prop.item.identifier)
            raise ValueRejected(
                f"{prop.identifier}[{index}]{inner}", err.rule, err.detail
            ) from None
    return items


_CHECKS: Final = MappingProxyType(
    {
        DataType.INT: _check_numeric,
        DataType.FLOAT: _check_numeric,
        DataType.DOUBLE: _check_numeric,
        DataType.BOOL: _check_bool,
        DataType.ENUM: _check_enum,
        DataType.TEXT: _check_text,
        DataType.DATE: _check_date,
        DataType.STRUCT: _check_struct,
        DataType.ARRAY: _check_array,
    }
)


def validate(prop: Property, value: Any) -> Any:
    """Check `value` against `prop` and return it in Python form.

    bool → bool, enum → its value as text, date → int milliseconds, numbers → int or
    float (snapped to the step), struct → dict, array → list. Raises `ValueRejected`.
    """
    return _CHECKS[prop.type](prop, value)


def validate_write(prop: Property, value: Any) -> Any:
    """`validate`, refusing read-only properties first."""
    if not prop.writable:
        raise _reject(prop, "access", "is read-only")
    return validate(prop, value)


def encode_value(prop: Property, value: Any, bool_encoding: BoolEncoding = BoolEncoding.INT) -> Any:
    """Shape a validated value the way the device expects it on the wire."""
    match prop.type:
        case DataType.BOOL:
            return value if bool_encoding is BoolEncoding.JSON else int(value)
        case DataType.ENUM:
            return int(value) if value.lstrip("-").isdigit() else value
        case DataType.DATE:
            return str(value)
        case DataType.STRUCT:
            return {
                k: encode_value(m, v, bool_encoding)
                for k, v in value.items()
                if (m := prop.member(k)) is not None
            }
        case DataType.ARRAY if prop.item is not None:
            return [encode_value(prop.item, v, bool_encoding) for v in value]
    return value


def bool_encoding_of(reported: Any) -> BoolEncoding | None:
    """The encoding a device used for a boolean it reported, if it tells."""
    if isinstance(reported, bool):
        return BoolEncoding.JSON
    if isinstance(reported, int):
        return BoolEncoding.INT
    return None

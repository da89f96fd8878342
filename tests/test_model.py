"""Object models in three formats, and value validation against them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.rlink.protocol.errors import ModelError, ValueRejected
from custom_components.rlink.protocol.model import (
    Access,
    BoolEncoding,
    DataType,
    ModelFormat,
    Property,
    bool_encoding_of,
    encode_value,
    model_to_format,
    parse_model,
    parse_property,
    validate,
    validate_write,
)

COMPLETE: dict[str, Any] = {
    "format": "complete",
    "profile": {"version": "V1.0.0", "productId": "plug01"},
    "properties": [
        {
            "identifier": "switch",
            "dpBusiId": "1",
            "name": "Power",
            "accessMode": "rw",
            "required": "true",
            "dataTypeStr": "bool",
            "dataType": {"type": "bool", "specs": {}},
        },
        {
            "identifier": "brightness",
            "dpBusiId": "2",
            "name": "Brightness",
            "accessMode": "rw",
            "dataTypeStr": "int",
            "dataType": {
                "type": "int",
                "specs": {"min": "1", "max": "100", "step": "1", "unit": "%"},
            },
        },
        {
            "identifier": "temperature",
            "dpBusiId": 3,
            "name": "Temperature",
            "accessMode": "r",
            "dataTypeStr": "float",
            "dataType": {
                "type": "float",
                "specs": {"min": -40, "max": 125, "step": 0.1, "unit": "°C", "unitName": "Celsius"},
            },
        },
        {
            "identifier": "mode",
            "accessMode": "rw",
            "dataType": {"type": "enum", "specs": {"enums": ["0", "1", "2"]}},
        },
        {
            "identifier": "label",
            "accessMode": "rw",
            "dataType": {"type": "text", "specs": {"length": "8"}},
        },
        {"identifier": "alarm_at", "accessMode": "rw", "dataType": {"type": "date", "specs": {}}},
        {
            "identifier": "color",
            "accessMode": "rw",
            "dataType": {
                "type": "struct",
                "specs": [
                    {
                        "identifier": "r",
                        "dataType": {"type": "int", "specs": {"min": 0, "max": 255}},
                    },
                    {"identifier": "on", "dataType": {"type": "bool", "specs": {}}},
                ],
            },
        },
        {
            "identifier": "levels",
            "accessMode": "rw",
            "dataType": {
                "type": "array",
                "specs": {"size": 3, "item": {"type": "int", "specs": {"min": 0, "max": 10}}},
            },
        },
        {
            "identifier": "points",
            "accessMode": "r",
            "dataType": {
                "type": "array",
                "specs": {
                    "size": 2,
                    "item": {
                        "type": "struct",
                        "specs": [{"identifier": "x", "dataType": {"type": "double", "specs": {}}}],
                    },
                },
            },
        },
    ],
    "events": [
        {
            "identifier": "alarm",
            "name": "Alarm",
            "type": "alert",
            "outputData": [{"identifier": "type", "dataType": {"type": "text", "specs": {}}}],
        },
    ],
}

SIMPLE: dict[str, Any] = {
    "format": "simple",
    "profile": {"version": "V1.0.0", "productId": "plug01"},
    "properties": [
        {"identifier": "switch", "busiId": "1", "dataType": "bool", "specs": {}},
        {
            "identifier": "brightness",
            "busiId": "2",
            "dataType": "int",
            "specs": {"min": 1, "max": 100, "step": 1},
        },
    ],
    "events": [],
}

MINI: dict[str, Any] = {
    "format": "mini",
    "profile": {"version": "V1.0.0", "productId": "plug01"},
    "properties": [
        {"i": "switch", "b": "1", "t": "bool"},
        {"i": "brightness", "b": "2", "t": "int"},
    ],
}


@pytest.fixture(name="model")
def fixture_model() -> Any:
    return parse_model(COMPLETE)


def test_complete_format(model: Any) -> None:
    assert model.format is ModelFormat.COMPLETE
    assert (model.product_id, model.version) == ("plug01", "V1.0.0")
    switch = model.property("switch")
    assert switch == Property(
        identifier="switch",
        type=DataType.BOOL,
        name="Power",
        business_id="1",
        access=Access.READ_WRITE,
        required=True,
    )
    temperature = model.property("temperature")
    assert (temperature.min, temperature.max, temperature.step) == (-40, 125, 0.1)
    assert (temperature.unit, temperature.unit_name, temperature.business_id) == (
        "°C",
        "Celsius",
        "3",
    )
    assert not temperature.writable
    assert model.property("mode").enums == ("0", "1", "2")
    assert model.property("label").length == 8
    color = model.property("color")
    assert [m.identifier for m in color.members] == ["r", "on"]
    assert model.property("levels").item.type is DataType.INT
    assert model.property("points").item.members[0].type is DataType.DOUBLE
    assert model.events[0].identifier == "alarm"
    assert model.events[0].outputs[0].identifier == "type"
    assert model.property("missing") is None


def test_three_formats_name_the_same_properties() -> None:
    simple, mini = parse_model(SIMPLE), parse_model(MINI)
    assert simple.format is ModelFormat.SIMPLE
    assert mini.format is ModelFormat.MINI
    for parsed in (simple, mini):
        assert [p.identifier for p in parsed.properties] == ["switch", "brightness"]
        assert [p.type for p in parsed.properties] == [DataType.BOOL, DataType.INT]
        assert [p.business_id for p in parsed.properties] == ["1", "2"]
        assert parsed.property("switch").access is None  # the format does not say
    assert simple.property("brightness").max == 100


def test_format_detected_when_not_declared() -> None:
    for source, fmt in (
        (COMPLETE, ModelFormat.COMPLETE),
        (SIMPLE, ModelFormat.SIMPLE),
        (MINI, ModelFormat.MINI),
    ):
        undeclared = {k: v for k, v in source.items() if k != "format"}
        assert parse_model(undeclared).format is fmt


def test_sub_model_reply_uses_sub_pid() -> None:
    parsed = parse_model(
        {"format": "mini", "subPid": "EEE01", "properties": [{"i": "a", "t": "int"}]}
    )
    assert parsed.product_id == "EEE01"


@pytest.mark.parametrize("fmt", list(ModelFormat))
def test_writing_each_format_reads_back(model: Any, fmt: ModelFormat) -> None:
    written = model_to_format(model, fmt)
    assert written["format"] == fmt
    again = parse_model(written)
    assert [p.identifier for p in again.properties] == [p.identifier for p in model.properties]
    assert [p.type for p in again.properties] == [p.type for p in model.properties]
    if fmt is ModelFormat.COMPLETE:
        assert again.properties == model.properties
        assert again.events == model.events
    if fmt is ModelFormat.MINI:
        assert "events" not in written


def test_spec_mini_example_parses_and_placeholders_are_refused() -> None:
    mini = {
        "format": "mini",
        "profile": {"version": "V1.0.0", "productId": "Current product id"},
        "properties": [{"i": "Property unique identifier", "b": "11", "t": "int"}],
    }
    assert parse_model(mini).properties[0].type is DataType.INT
    placeholder = {
        "properties": [{"identifier": "x", "dataType": {"type": "Property type: int (native)…"}}]
    }
    with pytest.raises(ModelError) as err:
        parse_model(placeholder)
    assert err.value.field == "properties[0](x).dataType.type"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "model"),
        ({"properties": {}}, "properties"),
        ({"properties": [], "events": "x"}, "events"),
        ({"properties": [], "profile": []}, "profile"),
        ({"properties": [], "format": "huge"}, "format"),
        ({"properties": ["x"]}, "properties[0]"),
        ({"properties": [{"dataType": "int"}]}, "properties[0]"),
        ({"properties": [{"identifier": "a"}]}, "properties[0](a)"),
        (
            {"properties": [{"identifier": "a", "dataType": "int", "specs": {"min": "low"}}]},
            "properties[0](a).specs.min",
        ),
        (
            {"properties": [{"identifier": "a", "dataType": "int", "specs": {"min": 5, "max": 1}}]},
            "properties[0](a).specs",
        ),
        (
            {"properties": [{"identifier": "a", "dataType": "text", "specs": {"length": 20000}}]},
            "properties[0](a).specs.length",
        ),
        (
            {"properties": [{"identifier": "a", "dataType": "array", "specs": {"item": "int"}}]},
            "properties[0](a).specs.item",
        ),
        (
            {
                "properties": [
                    {"identifier": "a", "dataType": "array", "specs": {"item": {"type": "bool"}}}
                ]
            },
            "properties[0](a).specs.item.type",
        ),
        (
            {"properties": [{"identifier": "a", "dataType": "struct", "specs": {}}]},
            "properties[0](a).specs",
        ),
        (
            {"properties": [{"identifier": "a", "accessMode": "x", "dataType": "int"}]},
            "properties[0](a).accessMode",
        ),
        ({"properties": [{"i": "a", "t": "int"}, {"i": "a", "t": "bool"}]}, "properties"),
        ({"properties": [], "events": [{"name": "x"}]}, "events[0]"),
    ],
)
def test_bad_models_name_the_field(data: Any, field: str) -> None:
    with pytest.raises(ModelError) as err:
        parse_model(data)
    assert err.value.field == field


def test_mini_models_leave_values_open() -> None:
    """Mini models carry no specs: enums, structs and arrays then take what they are given."""
    mini = parse_model(
        {
            "format": "mini",
            "properties": [
                {"i": "mode", "t": "enum"},
                {"i": "color", "t": "struct"},
                {"i": "list", "t": "array"},
            ],
        }
    )
    assert validate(mini.property("mode"), 7) == "7"
    assert validate(mini.property("color"), {"r": 1}) == {"r": 1}
    assert validate(mini.property("list"), [1, "a"]) == [1, "a"]


def test_enum_with_labels() -> None:
    prop = parse_property(
        {"identifier": "mode", "dataType": "enum", "specs": {"enums": {"0": "eco", "1": "turbo"}}}
    )
    assert prop.enums == ("0", "1")
    assert validate(prop, "turbo") == "1"
    assert validate(prop, 0) == "0"
    assert encode_value(prop, "1") == 1


# --- values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier", "value", "expected"),
    [
        ("switch", True, True),
        ("switch", 0, False),
        ("switch", "on", True),
        ("switch", "false", False),
        ("brightness", 50, 50),
        ("brightness", "75", 75),
        ("brightness", 80.0, 80),
        ("temperature", 21.3, 21.3),
        ("temperature", "0.3", 0.3),
        ("temperature", 0.30000000000000004, 0.3),
        ("mode", 2, "2"),
        ("mode", "1", "1"),
        ("label", "hall", "hall"),
        ("alarm_at", 1700000000000, 1700000000000),
        ("alarm_at", "1700000000000", 1700000000000),
        ("alarm_at", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), 1700000000000),
        ("color", {"r": 10, "on": 1}, {"r": 10, "on": True}),
        ("levels", [1, "2", 3.0], [1, 2, 3]),
        ("points", [{"x": 1.5}], [{"x": 1.5}]),
    ],
)
def test_accepted_values(model: Any, identifier: str, value: Any, expected: Any) -> None:
    assert validate(model.property(identifier), value) == expected


@pytest.mark.parametrize(
    ("identifier", "value", "rule", "named"),
    [
        ("switch", 2, "type", "switch"),
        ("switch", "maybe", "type", "switch"),
        ("switch", None, "type", "switch"),
        ("brightness", 0, "min", "brightness"),
        ("brightness", 101, "max", "brightness"),
        ("brightness", 5.5, "step", "brightness"),
        ("brightness", True, "type", "brightness"),
        ("brightness", "bright", "type", "brightness"),
        ("brightness", float("nan"), "type", "brightness"),
        ("brightness", [], "type", "brightness"),
        ("temperature", 21.35, "step", "temperature"),
        ("mode", 3, "enum", "mode"),
        ("mode", True, "type", "mode"),
        ("mode", 1.0, "type", "mode"),
        ("label", "far too long", "length", "label"),
        ("label", 5, "type", "label"),
        ("alarm_at", datetime(2023, 1, 1), "type", "alarm_at"),
        ("alarm_at", -5, "type", "alarm_at"),
        ("alarm_at", "yesterday", "type", "alarm_at"),
        ("color", {"r": 300}, "max", "color.r"),
        ("color", {"g": 1}, "member", "color"),
        ("color", [1], "type", "color"),
        ("levels", [1, 2, 3, 4], "size", "levels"),
        ("levels", [1, 11], "max", "levels[1]"),
        ("levels", "1,2", "type", "levels"),
        ("points", [{"x": "left"}], "type", "points[0].x"),
    ],
)
def test_rejected_values_name_property_and_rule(
    model: Any, identifier: str, value: Any, rule: str, named: str
) -> None:
    with pytest.raises(ValueRejected) as err:
        validate(model.property(identifier), value)
    assert err.value.rule == rule
    assert err.value.identifier == named
    assert str(err.value).startswith(f"{named}: ")


def test_read_only_properties_refuse_writes(model: Any) -> None:
    with pytest.raises(ValueRejected) as err:
        validate_write(model.property("temperature"), 20)
    assert err.value.rule == "access"
    assert validate_write(model.property("brightness"), 20) == 20


def test_encoding_for_the_wire(model: Any) -> None:
    switch = model.property("switch")
    assert encode_value(switch, True) == 1
    assert encode_value(switch, True, BoolEncoding.JSON) is True
    assert encode_value(model.property("mode"), "2") == 2
    assert encode_value(model.property("alarm_at"), 1700000000000) == "1700000000000"
    assert encode_value(model.property("color"), {"r": 1, "on": False}) == {"r": 1, "on": 0}
    assert encode_value(model.property("label"), "x") == "x"
    assert bool_encoding_of(True) is BoolEncoding.JSON
    assert bool_encoding_of(1) is BoolEncoding.INT
    assert bool_encoding_of("1") is None


# --- property-based ---------------------------------------------------------------------


@st.composite
def numeric_properties(draw: st.DrawFn) -> Property:
    low = draw(st.integers(-1000, 1000))
    span = draw(st.integers(1, 1000))
    step = draw(st.sampled_from([None, 1, 2, 5]))
    kind = draw(st.sampled_from([DataType.INT, DataType.FLOAT]))
    return Property(identifier="n", type=kind, min=low, max=low + span, step=step)


@given(prop=numeric_properties(), data=st.data())
def test_numbers_inside_the_range_on_the_step_pass(prop: Property, data: st.DataObject) -> None:
    step = int(prop.step or 1)
    count = int((prop.max - prop.min) // step)
    value = int(prop.min) + step * data.draw(st.integers(0, count))
    assert validate(prop, value) == value


@given(prop=numeric_properties(), offset=st.integers(1, 10_000))
def test_numbers_outside_the_range_fail(prop: Property, offset: int) -> None:
    with pytest.raises(ValueRejected) as low:
        validate(prop, prop.min - offset)
    assert low.value.rule == "min"
    with pytest.raises(ValueRejected) as high:
        validate(prop, prop.max + offset)
    assert high.value.rule == "max"


@given(text=st.text(max_size=40), length=st.integers(1, 30))
def test_text_length(text: str, length: int) -> None:
    prop = Property(identifier="t", type=DataType.TEXT, length=length)
    if len(text) <= length:
        assert validate(prop, text) == text
    else:
        with pytest.raises(ValueRejected, match="longer than"):
            validate(prop, text)


@given(
    enums=st.lists(st.integers(0, 50).map(str), min_size=1, max_size=6, unique=True),
    value=st.integers(0, 60),
)
def test_enum_membership(enums: list[str], value: int) -> None:
    prop = Property(identifier="e", type=DataType.ENUM, enums=tuple(enums))
    if str(value) in enums:
        assert encode_value(prop, validate(prop, value)) == value
    else:
        with pytest.raises(ValueRejected) as err:
            validate(prop, value)
        assert err.value.rule == "enum"


@given(
    value=st.one_of(
        st.none(),
        st.integers(),
        st.floats(),
        st.text(max_size=5),
        st.booleans(),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
    kind=st.sampled_from(list(DataType)),
)
def test_any_value_passes_or_is_rejected_cleanly(value: Any, kind: DataType) -> None:
    members = (Property(identifier="m", type=DataType.INT),) if kind is DataType.STRUCT else ()
    item = Property(identifier="a", type=DataType.INT) if kind is DataType.ARRAY else None
    enums = ("0", "1") if kind is DataType.ENUM else ()
    prop = Property(identifier="a", type=kind, members=members, item=item, enums=enums)
    try:
        validate(prop, value)
    except ValueRejected as err:
        assert err.identifier.startswith("a")


def test_written_specs_keep_every_digit() -> None:
    """A colour range up to 16777215 and a step of 0.001 come back exactly as they went in."""
    source = {
        "properties": [
            {
                "identifier": "rgb",
                "name": "Colour",
                "accessMode": "rw",
                "dataType": {"type": "int", "specs": {"min": 0, "max": 16777215, "step": 1}},
            },
            {
                "identifier": "dose",
                "name": "Dose",
                "accessMode": "rw",
                "dataType": {
                    "type": "double",
                    "specs": {"min": "-0.5", "max": "2.5", "step": "0.001"},
                },
            },
        ]
    }
    model = parse_model(source)
    written = model_to_format(model, ModelFormat.COMPLETE)
    rgb, dose = written["properties"]
    assert rgb["dataType"]["specs"] == {"min": "0", "max": "16777215", "step": "1"}
    assert dose["dataType"]["specs"] == {"min": "-0.5", "max": "2.5", "step": "0.001"}
    assert parse_model(written).properties == model.properties

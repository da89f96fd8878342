"""Values checked against a device's model: what it reports, and what is written to it.

A device without a model (or with one inferred from what it reported) has nothing to be
checked against: its reports are taken as they come, and nothing can be written to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from .device import RlinkDevice
from .errors import invalid
from .protocol.errors import ValueRejected
from .protocol.model import Property, bool_encoding_of, encode_value, validate, validate_write

REJECTED: Final = object()
"""What `checked_value` returns for a value the model does not allow."""


def excerpt(value: Any, limit: int = 80) -> str:
    """A value as a log line may show it: a device can send a megabyte where a number goes."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def checks(device: RlinkDevice) -> bool:
    """Whether the device has a real model to check values by."""
    return device.model is not None and not device.model_inferred


def checked_value(device: RlinkDevice, identifier: str, value: Any) -> Any:
    """A reported value as its model reads it (`1`, `"1"` and `true` are all True), or
    REJECTED when it does not fit; unchanged without a model to read it by."""
    if device.model is None or device.model_inferred:
        return value
    prop = device.model.property(identifier)
    if prop is None:
        return REJECTED
    try:
        return validate(prop, value)
    except ValueRejected:
        return REJECTED


def prepare_values(device: RlinkDevice, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate values to write against the model and shape them for the wire."""
    return {
        identifier: encode_value(prop, checked, device.bool_encoding)
        for identifier, (prop, checked) in _checked(device, values, validate_write).items()
    }


def prepare_report(device: RlinkDevice, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate values reported on the device's behalf (read-only ones included)."""
    if not checks(device):
        return dict(values)  # nothing to check them against
    return {
        identifier: encode_value(prop, checked, device.bool_encoding)
        for identifier, (prop, checked) in _checked(device, values, validate).items()
    }


def stored_form(device: RlinkDevice, prepared: Mapping[str, Any]) -> dict[str, Any]:
    """Values prepared for the wire as the device's state will hold them once reported."""
    return {k: checked_value(device, k, v) for k, v in prepared.items()}


def learn_bool_encoding(device: RlinkDevice, raw: Mapping[str, Any]) -> None:
    """How the device writes booleans (0/1 or false/true), seen in what it reports: writes
    to it use the same."""
    if device.model is None:
        return
    for key, value in raw.items():
        prop = device.model.property(key)
        if prop is not None and prop.type == "bool":
            device.bool_encoding = bool_encoding_of(value) or device.bool_encoding


def normalise_values(device: RlinkDevice) -> None:
    """Values kept before the device had this model (or from an older cache) are read by
    it now, once; those it does not allow are dropped."""
    if not checks(device):
        return
    for key, value in list(device.values.items()):
        checked = checked_value(device, key, value)
        if checked is REJECTED:
            del device.values[key]
        else:
            device.values[key] = checked


def _checked(
    device: RlinkDevice,
    values: Mapping[str, Any],
    check: Callable[[Property, Any], Any],
) -> dict[str, tuple[Property, Any]]:
    model = device.model
    if model is None or device.model_inferred:
        raise invalid("no_model", device=device.name, pid=device.pid)
    checked: dict[str, tuple[Property, Any]] = {}
    for identifier, value in values.items():
        prop = model.property(identifier)
        if prop is None:
            raise invalid("unknown_property", device=device.name, property=identifier)
        try:
            checked[identifier] = (prop, check(prop, value))
        except ValueRejected as err:
            raise invalid(
                "invalid_value", property=err.identifier, value=repr(value), reason=err.detail
            ) from err
    return checked

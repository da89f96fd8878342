"""Device templates: an object model (complete format) and starting values per kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def prop(
    identifier: str, type_: str, name: str, access: str = "rw", **specs: Any
) -> dict[str, Any]:
    """One property in the platform's complete format."""
    return {
        "identifier": identifier,
        "name": name,
        "accessMode": access,
        "required": False,
        "dataTypeStr": type_,
        "dataType": {"type": type_, "specs": {k: v for k, v in specs.items() if v is not None}},
    }


@dataclass(frozen=True)
class Template:
    kind: str
    pid: str
    product_name: str
    properties: list[dict[str, Any]]
    values: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    version: str = "1.0.0"

    def model(self, pid: str | None = None) -> dict[str, Any]:
        return {
            "format": "complete",
            "profile": {
                "version": self.version,
                "productId": pid or self.pid,
                "productName": self.product_name,
            },
            "properties": self.properties,
            "events": self.events,
        }


_ALARM = {
    "identifier": "alarm",
    "name": "Alarm",
    "type": "alert",
    "outputData": [prop("type", "text", "Alarm type", "r"), prop("imageUrl", "text", "Image", "r")],
}

# A video doorbell's button: an event of its own beside the alarm.
_DOORBELL = {"identifier": "doorbell", "name": "Doorbell press", "type": "info", "outputData": []}

TEMPLATES: dict[str, Template] = {
    t.kind: t
    for t in (
        Template(
            "plug",
            "simplug01",
            "Smart plug",
            [
                prop("switch", "bool", "Power"),
                prop("power", "float", "Power draw", "r", min=0, max=4000, step=0.1, unit="W"),
                prop("energy", "double", "Energy", "r", min=0, max=1e9, step=0.001, unit="kWh"),
                prop("countdown", "int", "Countdown", min=0, max=86400, step=1, unit="s"),
            ],
            {"switch": 0, "power": 0.0, "energy": 0.0, "countdown": 0},
        ),
        Template(
            "sensor",
            "simsensor01",
            "Climate sensor",
            [
                prop(
                    "temperature", "float", "Temperature", "r", min=-40, max=85, step=0.1, unit="°C"
                ),
                prop("humidity", "int", "Humidity", "r", min=0, max=100, step=1, unit="%"),
                prop("battery", "int", "Battery", "r", min=0, max=100, step=1, unit="%"),
            ],
            {"temperature": 21.5, "humidity": 45, "battery": 90},
        ),
        Template(
            "light",
            "simlight01",
            "Smart light",
            [
                prop("switch_led", "bool", "Light"),
                prop("brightness", "int", "Brightness", min=1, max=100, step=1, unit="%"),
                prop(
                    "color_temp", "int", "Colour temperature", min=2700, max=6500, step=1, unit="K"
                ),
                prop(
                    "work_mode", "enum", "Mode", enums={"0": "White", "1": "Colour", "2": "Scene"}
                ),
            ],
            {"switch_led": 0, "brightness": 80, "color_temp": 4000, "work_mode": 0},
        ),
        Template(
            "lock",
            "simlock01",
            "Smart lock",
            [
                prop("lock_state", "bool", "Locked", "r"),
                prop("battery", "int", "Battery", "r", min=0, max=100, step=1, unit="%"),
                prop("volume", "enum", "Volume", enums={"0": "Mute", "1": "Low", "2": "High"}),
            ],
            {"lock_state": 1, "battery": 80, "volume": 1},
            [_ALARM],
        ),
        Template(
            "camera",
            "simcam01",
            "Video doorbell",
            [
                prop("motion_detect", "bool", "Motion detection"),
                prop("battery", "int", "Battery", "r", min=0, max=100, step=1, unit="%"),
                prop(
                    "night_vision",
                    "enum",
                    "Night vision",
                    enums={"0": "Auto", "1": "On", "2": "Off"},
                ),
            ],
            {"motion_detect": 1, "battery": 70, "night_vision": 0},
            [_ALARM, _DOORBELL],
        ),
        Template(
            "vacuum",
            "simvac01",
            "Robot vacuum",
            [
                prop("power_go", "bool", "Cleaning"),
                prop(
                    "status",
                    "enum",
                    "Status",
                    "r",
                    enums={
                        "0": "Standby",
                        "1": "Cleaning",
                        "2": "Paused",
                        "3": "Returning",
                        "4": "Charging",
                    },
                ),
                prop("battery", "int", "Battery", "r", min=0, max=100, step=1, unit="%"),
                prop(
                    "suction",
                    "enum",
                    "Suction",
                    enums={"0": "Quiet", "1": "Standard", "2": "Strong", "3": "Max"},
                ),
                prop("seek", "bool", "Locate"),
                prop("return_home", "bool", "Return to base"),
                prop("clean_area", "int", "Cleaned area", "r", min=0, max=1000, step=1, unit="m²"),
                prop(
                    "clean_time", "int", "Cleaning time", "r", min=0, max=1440, step=1, unit="min"
                ),
            ],
            {
                "power_go": 0,
                "status": 4,
                "battery": 100,
                "suction": 1,
                "seek": 0,
                "return_home": 0,
                "clean_area": 0,
                "clean_time": 0,
            },
        ),
        Template(
            "gateway",
            "simgw01",
            "Zigbee gateway",
            [prop("permit_join", "bool", "Permit join")],
            {"permit_join": 0},
        ),
    )
}

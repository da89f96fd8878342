"""Answers that depend on where Home Assistant is: the sun far north, the host devices keep
their link with, the weather entity a device gets its temperature from."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from freezegun import freeze_time
from homeassistant.core import HomeAssistant

from custom_components.rlink.const import CONF_BIND_HOST, CONF_WEATHER_ENTITY
from custom_components.rlink.local.answers import HubAnswers
from custom_components.rlink.local.gateway_data import GatewayConfigs
from custom_components.rlink.protocol.responder import DeviceRef

DEVICE = DeviceRef("rn01a1b2c3d4e5f6", "pid1")


def _answers(
    hass: HomeAssistant, *, bind_host: str = "", options: dict[str, Any] | None = None
) -> HubAnswers:
    coordinator = SimpleNamespace(
        hass=hass,
        entry=SimpleNamespace(data={CONF_BIND_HOST: bind_host}),
        device_options=lambda _uuid: options or {},
    )
    return HubAnswers(coordinator, GatewayConfigs())  # type: ignore[arg-type]


@pytest.mark.parametrize("month", [6, 12])
async def test_the_sun_near_the_pole_still_gives_a_day(hass: HomeAssistant, month: int) -> None:
    """In polar day or night there is no sunrise or no sunset: the answer spans the day."""
    await hass.config.async_update(latitude=89.5, longitude=0, time_zone="UTC")
    with freeze_time(f"2026-{month:02d}-21 12:00:00"):
        answer = _answers(hass).weather(DEVICE)
    assert answer["sunriseTs"] < answer["sunsetTs"]
    assert answer["sunsetTs"] - answer["sunriseTs"] <= 24 * 3600
    assert "temperature" not in answer  # no weather entity: left out, not made up


async def test_the_chosen_weather_entity_gives_the_temperature_in_celsius(
    hass: HomeAssistant,
) -> None:
    hass.states.async_set("weather.home", "sunny", {"temperature": 68, "temperature_unit": "°F"})
    hass.states.async_set("weather.attic", "sunny", {"temperature": "warm"})
    chosen = _answers(hass, options={CONF_WEATHER_ENTITY: "weather.home"}).weather(DEVICE)
    assert chosen["temperature"] == 20
    # Without a choice: the first weather entity that has a number.
    assert _answers(hass).weather(DEVICE)["temperature"] == 20
    # A chosen entity without a number gives none rather than another entity's.
    unusable = _answers(hass, options={CONF_WEATHER_ENTITY: "weather.attic"}).weather(DEVICE)
    assert "temperature" not in unusable


@pytest.mark.parametrize(
    ("bind_host", "expected"),
    [("192.168.1.10", "192.168.1.10"), ("hub.lan", "hub.lan"), ("0.0.0.0", None), ("", None)],
)
async def test_the_host_devices_keep_their_link_with(
    hass: HomeAssistant, bind_host: str, expected: str | None
) -> None:
    # Home Assistant has no local URL here: only a specific listening address can be named.
    assert _answers(hass, bind_host=bind_host).tcp_url(DEVICE) == expected


async def test_the_host_falls_back_to_home_assistant_s_local_url(hass: HomeAssistant) -> None:
    await hass.config.async_update(internal_url="http://192.168.1.20:8123")
    assert _answers(hass, bind_host="0.0.0.0").tcp_url(DEVICE) == "192.168.1.20"

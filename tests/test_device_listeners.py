"""A device's change notifications reach the listeners that show what changed."""

from __future__ import annotations

from custom_components.rlink.device import DeviceListener, RlinkDevice


def _calls() -> tuple[list[frozenset[str] | None], DeviceListener]:
    seen: list[frozenset[str] | None] = []
    return seen, seen.append


def test_a_change_reaches_only_the_listeners_watching_it() -> None:
    device = RlinkDevice("inv01De86b75d01bb", "pid", "plug")
    switch, on_switch = _calls()
    power, on_power = _calls()
    everything, on_everything = _calls()
    nothing, on_nothing = _calls()
    device.async_add_listener(on_switch, frozenset({"switch"}))
    device.async_add_listener(on_power, frozenset({"power", "voltage"}))
    device.async_add_listener(on_everything)
    device.async_add_listener(on_nothing, frozenset())

    device.notify({"switch"})
    device.notify({"power", "voltage"})
    device.notify(None)  # online, model or options: everyone

    assert switch == [frozenset({"switch"}), None]
    assert power == [frozenset({"power", "voltage"}), None]  # once, though it watches both
    assert everything == [frozenset({"switch"}), frozenset({"power", "voltage"}), None]
    assert nothing == [None]


def test_a_removed_listener_hears_nothing_more() -> None:
    device = RlinkDevice("inv01De86b75d01bb", "pid", "plug")
    heard, on_change = _calls()
    remove = device.async_add_listener(on_change, frozenset({"a", "b"}))
    device.notify({"a"})
    remove()
    device.notify({"a"})
    device.notify({"b"})
    device.notify(None)
    assert heard == [frozenset({"a"})]

"""The receiving end of each comparison row, in a process of its own.

``python -m benchmarks.rows ROW ...`` starts one of:

- ``floor``: a bare paho subscriber on Mosquitto (paho's own network thread), reading the
  value out of each report;
- ``mqtt``: Home Assistant with its own MQTT integration on Mosquitto, the fleet's devices
  announced by MQTT discovery (one device discovery message each, an entity for each
  entity rlink gives the same device, QoS 1), the reports on their state topics;
- ``rlink-mosquitto``: Home Assistant with the integration's local hub on an external
  broker (Mosquitto);
- ``rlink-rabbitmq``: the same hub on RabbitMQ, which asks this Home Assistant about every
  login and topic (the broker-auth views, as a deployment where Home Assistant checks the
  devices has it);
- ``rlink-server``: Home Assistant with the local hub on its own device server (the default
  set-up), the devices logging in with their rlink credentials.

Each Home Assistant state that a report changes is counted in a shared file as it happens
(a ``@callback`` listener: it runs in the event loop, no task), and while recording, its
time is kept for the latency join. Commands arrive on stdin, one JSON object a line:
``{"cmd": "record"}``, ``{"cmd": "save", "path": PATH}`` (the recorded changes: int64 ns,
device index, step), ``{"cmd": "rtt", "samples": N}``, ``{"cmd": "collect"}`` (a full
garbage collection now), ``{"cmd": "collector", "threshold": [N0, N1, N2]}`` (set the
collector's thresholds; the answer has the ones before), ``{"cmd": "stats"}`` (the event
loop's task count), ``{"cmd": "stop"}``. The first line on stdout says it is ready.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import socket
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Final

import paho.mqtt.client as mqtt

import custom_components  # noqa: F401 - must be imported before Home Assistant's loader looks
from benchmarks.fleet import VARYING, Counters, kind, seed, step_of
from custom_components.rlink.const import DOMAIN, SUBENTRY_DEVICE
from custom_components.rlink.protocol import messages
from custom_components.rlink.protocol.codes import DeviceCommand
from custom_components.rlink.protocol.topics import TopicKind, device_filter, device_topic
from tools.rlink_sim import TEMPLATES, make_secret, make_uuid

ROWS: Final = ("floor", "mqtt", "rlink-mosquitto", "rlink-rabbitmq", "rlink-server")
RABBITMQ_HUB: Final = ("home-assistant", "bench-hub-password")
"""The hub's own login on RabbitMQ (Home Assistant answers for it too)."""
SETUP_SECONDS: Final = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GcPauses:
    """The garbage collections of this process while it records: (ms, generation, objects
    freed) each."""

    def __init__(self) -> None:
        self.recording = False
        self.seen: list[tuple[float, int, int]] = []
        self._started = 0
        gc.callbacks.append(self._on_gc)

    def start(self) -> None:
        self.seen, self.recording = [], True

    def stop(self) -> list[tuple[float, int, int]]:
        self.recording = False
        return self.seen

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter_ns()
        elif self.recording:
            elapsed = (time.perf_counter_ns() - self._started) / 1e6
            self.seen.append((elapsed, info["generation"], info["collected"]))


class Recorder:
    """Counts changes (shared file) and, while recording, keeps when each one happened."""

    def __init__(self, counters: Counters, slot: int) -> None:
        self.counters, self.slot = counters, slot
        self.applied = 0
        self.recording = False
        self.pauses = GcPauses()
        """Garbage collections while recording: a long one shows in the p99."""
        self.columns: tuple[array[int], array[int], array[int]] = (
            array("q"),
            array("q"),
            array("q"),
        )

    def applied_one(self, index: int, state_value: float) -> None:
        self.applied += 1
        self.counters.set(self.slot, self.applied)
        if self.recording:
            self.columns[0].append(time.perf_counter_ns())
            self.columns[1].append(index)
            self.columns[2].append(step_of(index, state_value))

    def save(self, path: str) -> int:
        self.recording = False
        Path(path).write_bytes(b"".join(column.tobytes() for column in self.columns))
        count = len(self.columns[0])
        self.columns = (array("q"), array("q"), array("q"))
        return count


# --- Home Assistant ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def home_assistant(config_dir: str, http_port: int = 0) -> AsyncIterator[Any]:
    """A Home Assistant in this process, with its HTTP server on loopback (`http_port`, or a
    free port)."""
    import homeassistant.components.logger as logger_component  # noqa: PLC0415
    from homeassistant import loader  # noqa: PLC0415
    from homeassistant.components.logger import helpers as logger_helpers  # noqa: PLC0415
    from homeassistant.helpers import frame  # noqa: PLC0415
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    if not hasattr(logger_component, "_clear_logger_overwrites"):
        # The test plugin's release for the previous Home Assistant looks for it here.
        logger_component._clear_logger_overwrites = logger_helpers._clear_logger_overwrites  # type: ignore[attr-defined]
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        async_test_home_assistant,
    )

    Path(config_dir, "configuration.yaml").touch()  # the mqtt integration reads it
    models = Path(config_dir, "rlink", "models")
    models.mkdir(parents=True, exist_ok=True)
    for template in TEMPLATES.values():
        (models / f"{template.pid}.json").write_text(json.dumps(template.model()))
    async with async_test_home_assistant(config_dir=config_dir) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
        frame.async_setup(hass)
        http = {"server_host": ["127.0.0.1"], "server_port": http_port or free_port()}
        assert await async_setup_component(hass, "http", {"http": http})
        # What a user confirms in the UI: unconfirmed, a new HTTP config is reverted after
        # five minutes with a restart, which would stop a row in the middle of a run.
        from homeassistant.components.http.config import (  # noqa: PLC0415
            async_get_and_load_store,
        )

        await (await async_get_and_load_store(hass)).async_promote_pending()
        yield hass
        await hass.async_stop(force=True)


def device_subentries(devices: int) -> list[dict[str, Any]]:
    return [
        {
            "data": {
                "uuid": make_uuid(seed(i)),
                "secret": make_secret(seed(i)),
                "pid": TEMPLATES[kind(i)].pid,
            },
            "subentry_type": SUBENTRY_DEVICE,
            "title": f"bench {i}",
            "unique_id": make_uuid(seed(i)),
        }
        for i in range(devices)
    ]


async def rlink_entry(hass: Any, data: dict[str, Any], devices: int) -> Any:
    from pytest_homeassistant_custom_component.common import MockConfigEntry  # noqa: PLC0415

    entry = MockConfigEntry(
        domain=DOMAIN,
        data={"mode": "local", **data},
        unique_id=f"{data['broker']}:{data['port']}",
        subentries_data=device_subentries(devices),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


# --- MQTT discovery: the same devices, as a user would announce them ---------------------------


def _diagnostics(uuid: str, diag: str) -> dict[str, dict[str, Any]]:
    """What rlink adds to every device (the same ones disabled): connection, firmware,
    network; none of it changes with a property report, so it sits on a topic of its own
    here too. Plugs and sensors list no events, so neither side has an event entity."""
    sensor = {"p": "sensor", "stat_t": diag, "ent_cat": "diagnostic", "en": False}
    return {
        "firmware_version": {**sensor, "val_tpl": "{{ value_json.version }}"},
        "mcu_version": {**sensor, "val_tpl": "{{ value_json.mcu }}"},
        "network_type": {**sensor, "val_tpl": "{{ value_json.network }}"},
        "signal": {**sensor, "val_tpl": "{{ value_json.signal }}", "unit_of_meas": "%"},
        "ssid": {**sensor, "val_tpl": "{{ value_json.ssid }}"},
        "check_connection": {"p": "button", "cmd_t": f"{diag}/ping", "ent_cat": "diagnostic"},
        "reboot": {"p": "button", "cmd_t": f"{diag}/reboot", "dev_cla": "restart"},
        "factory_reset": {"p": "button", "cmd_t": f"{diag}/reset", "en": False},
        "firmware": {"p": "update", "stat_t": f"{diag}/update", "ent_cat": "config"},
    }


def discovery(index: int) -> tuple[str, bytes]:
    """The device discovery message of one device: (topic, payload)."""
    uuid, device_kind = make_uuid(seed(index)), kind(index)
    pid = TEMPLATES[device_kind].pid
    state = device_topic(TopicKind.REPORT, pid, uuid)
    command = device_topic(TopicKind.ISSUE, pid, uuid)
    diag = f"bench/{uuid}/diag"

    def prop(name: str) -> str:
        return "{{ value_json.data.properties.%s }}" % name  # noqa: UP031 - Jinja braces

    if device_kind == "sensor":
        components: dict[str, dict[str, Any]] = {
            "temperature": {
                "p": "sensor",
                "dev_cla": "temperature",
                "unit_of_meas": "°C",
                "stat_cla": "measurement",
                "val_tpl": prop("temperature"),
            },
            "humidity": {
                "p": "sensor",
                "dev_cla": "humidity",
                "unit_of_meas": "%",
                "stat_cla": "measurement",
                "val_tpl": prop("humidity"),
            },
            "battery": {
                "p": "sensor",
                "dev_cla": "battery",
                "unit_of_meas": "%",
                "stat_cla": "measurement",
                "val_tpl": prop("battery"),
            },
        }
    else:
        components = {
            "switch": {
                "p": "switch",
                "val_tpl": prop("switch"),
                "stat_on": "1",
                "stat_off": "0",
                "cmd_t": command,
                "pl_on": '{"code":"property_set","data":{"properties":{"switch":1}}}',
                "pl_off": '{"code":"property_set","data":{"properties":{"switch":0}}}',
            },
            "power": {
                "p": "sensor",
                "dev_cla": "power",
                "unit_of_meas": "W",
                "stat_cla": "measurement",
                "val_tpl": prop("power"),
            },
            "energy": {
                "p": "sensor",
                "dev_cla": "energy",
                "unit_of_meas": "kWh",
                "stat_cla": "total_increasing",
                "val_tpl": prop("energy"),
            },
            "countdown": {
                "p": "number",
                "val_tpl": prop("countdown"),
                "cmd_t": command,
                "cmd_tpl": '{"code":"property_set","data":{"properties":{"countdown":{{ value }}}}}',
                "min": 0,
                "max": 86400,
                "unit_of_meas": "s",
            },
        }
        for component in components.values():
            component.setdefault("stat_t", state)
    for name, component in components.items():
        component.setdefault("stat_t", state)
        component["uniq_id"] = f"{uuid}_{name}"
        component["name"] = name.replace("_", " ").capitalize()
    for name, component in _diagnostics(uuid, diag).items():
        component["uniq_id"] = f"{uuid}_{name}"
        component["name"] = name.replace("_", " ").capitalize()
        components[name] = component
    payload = {
        "dev": {"ids": [uuid], "name": f"bench {index}", "mf": "rlink", "mdl": device_kind},
        "o": {"name": "rlink benchmark"},
        "qos": 1,  # as rlink's hub subscribes
        "cmps": components,
    }
    return f"homeassistant/device/{uuid}/config", json.dumps(payload).encode()


def publish_discovery(port: int, devices: int) -> None:
    """Retained, as a device announcing itself does: Home Assistant reads them when it subscribes."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-discovery")
    client.connect("127.0.0.1", port, 60)
    client.loop_start()
    infos = [
        client.publish(topic, payload, qos=1, retain=True)
        for topic, payload in map(discovery, range(devices))
    ]
    for info in infos:
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()


async def mqtt_entry(hass: Any, port: int) -> Any:
    from pytest_homeassistant_custom_component.common import MockConfigEntry  # noqa: PLC0415

    entry = MockConfigEntry(
        domain="mqtt",
        data={"broker": "127.0.0.1", "port": port, "protocol": "5"},
        options={"discovery": True, "discovery_prefix": "homeassistant"},
        version=2,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


# --- the rows ------------------------------------------------------------------------------------


def target(index: int) -> tuple[str, str]:
    """(platform's entity domain, unique id) of the entity a device's reports change."""
    return "sensor", f"{make_uuid(seed(index))}_{VARYING[kind(index)][0]}"


async def wait_for_entities(hass: Any, platform: str, devices: int) -> dict[str, int]:
    """entity id -> device index of every target entity.

    MQTT discovery adds entities as the messages come: wait for all. rlink's are added
    during setup; Home Assistant refuses those past its cap of enabled entities per config
    entry (the mqtt integration is exempt), so whatever is there then is all there is.
    """
    from homeassistant.helpers import entity_registry as er  # noqa: PLC0415

    registry = er.async_get(hass)
    found: dict[str, int] = {}
    deadline = time.monotonic() + SETUP_SECONDS
    while True:
        for index in range(devices):
            domain, unique_id = target(index)
            entity_id = registry.async_get_entity_id(domain, platform, unique_id)
            if entity_id is not None:
                found[entity_id] = index
        if len(found) >= devices or platform != "mqtt":
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(found)} of {devices} entities after {SETUP_SECONDS} s")
        await asyncio.sleep(0.5)


def listen(hass: Any, targets: dict[str, int], recorder: Recorder) -> Callable[[], None]:
    from homeassistant.const import EVENT_STATE_CHANGED  # noqa: PLC0415
    from homeassistant.core import callback  # noqa: PLC0415

    @callback
    def on_state(event: Any) -> None:
        index = targets.get(event.data["entity_id"])
        new = event.data["new_state"]
        if index is None or new is None:
            return
        try:
            state_value = float(new.state)
        except ValueError:
            return  # unknown, unavailable
        recorder.applied_one(index, state_value)

    return hass.bus.async_listen(EVENT_STATE_CHANGED, on_state)  # type: ignore[no-any-return]


def say(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def commands(
    recorder: Recorder,
    rtt: Callable[[int], list[float]] | None = None,
    stats: Callable[[], dict[str, Any]] | None = None,
) -> bool:
    """Answer one command from stdin; False on stop (blocking: call it from a thread)."""
    line = sys.stdin.readline()
    if not line:
        return False
    request = json.loads(line)
    match request["cmd"]:
        case "rtt":
            say({"rtt": rtt(request["samples"]) if rtt is not None else []})
        case "stats":
            say(stats() if stats is not None else {})
        case "collect":
            # The full collections a fresh start owes (its heap grew by every entity) are
            # done now, as in a Home Assistant that has run a while, not in some window.
            started = time.perf_counter()
            gc.collect()
            say({"collected_ms": 1000 * (time.perf_counter() - started)})
        case "collector":
            # Only the end-to-end benchmark's diagnostic windows change it, and put it back.
            before = gc.get_threshold()
            gc.set_threshold(*request["threshold"])
            say({"threshold": list(before)})
        case "record":
            recorder.pauses.start()
            recorder.recording = True
            say({"recording": True})
        case "save":
            pauses = recorder.pauses.stop()
            longest = max(pauses, default=(0.0, 0, 0))
            say(
                {
                    "count": recorder.save(request["path"]),
                    "gc_count": len(pauses),
                    "gc_max_ms": longest[0],
                    "gc_max_generation": longest[1],
                    "gc_max_freed": longest[2],
                    "gc_over_10_ms": sum(1 for ms, _, _ in pauses if ms > 10),
                }
            )
        case "stop":
            return False
    return True


async def service_rtt(hass: Any, samples: int) -> list[float]:
    """The check-connection button: press -> ``issue`` (ping) -> device -> ``issue_response``
    -> the press returns, in ms."""
    from homeassistant.helpers import entity_registry as er  # noqa: PLC0415

    unique_id = f"{make_uuid(seed(0))}_button_check_connection"
    button = er.async_get(hass).async_get_entity_id("button", DOMAIN, unique_id)
    out = []
    for _ in range(samples):
        started = time.perf_counter_ns()
        await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
        out.append((time.perf_counter_ns() - started) / 1e6)
    return out


async def serve_broker_auth(hass: Any, calls: Counter[str]) -> None:
    """Let Home Assistant's HTTP server listen before the hub logs in: RabbitMQ asks it
    about the hub's own login too. (The test instance counts as running without having
    started; its server listens once the start event is heard.) Every call the broker makes
    is counted in `calls`, by kind (``user``, ``vhost``, ``resource``, ``topic``)."""
    from homeassistant.const import EVENT_HOMEASSISTANT_START  # noqa: PLC0415

    from custom_components.rlink.local.broker_auth import BrokerAuthView  # noqa: PLC0415
    from tests.brokers import wait_listening  # noqa: PLC0415

    answer = BrokerAuthView.get

    async def counted(self: Any, request: Any, token: str, broker: str, check: str) -> Any:
        calls[check] += 1
        return await answer(self, request, token, broker, check)

    # Before the integration registers its view, which binds the handlers.
    BrokerAuthView.get = BrokerAuthView.post = counted  # type: ignore[method-assign]
    hass.bus.async_fire(EVENT_HOMEASSISTANT_START)
    await wait_listening(hass.http.server_port)


async def serve_hass(args: argparse.Namespace, recorder: Recorder) -> None:
    with tempfile.TemporaryDirectory() as config_dir:
        async with home_assistant(config_dir, args.http_port) as hass:
            started = time.perf_counter()
            auth_calls: Counter[str] = Counter()
            port = args.port
            if args.row == "mqtt":
                await asyncio.to_thread(publish_discovery, port, args.devices)
                entry = await mqtt_entry(hass, port)
                platform = "mqtt"
            elif args.row == "rlink-mosquitto":
                data = {"broker": "external", "host": "127.0.0.1", "port": port, "tls": False}
                entry = await rlink_entry(hass, data, args.devices)
                platform = DOMAIN
            elif args.row == "rlink-rabbitmq":
                await serve_broker_auth(hass, auth_calls)
                user, password = RABBITMQ_HUB
                data = {
                    "broker": "external",
                    "host": "127.0.0.1",
                    "port": port,
                    "tls": False,
                    "username": user,
                    "password": password,
                    "broker_auth": True,
                    "auth_token": args.auth_token,
                }
                entry = await rlink_entry(hass, data, args.devices)
                platform = DOMAIN
            else:
                port = free_port()
                data = {"broker": "embedded", "port": port, "bind_host": "127.0.0.1"}
                entry = await rlink_entry(hass, data, args.devices)
                platform = DOMAIN
            targets = await wait_for_entities(hass, platform, args.devices)
            await hass.async_block_till_done()
            unlisten = listen(hass, targets, recorder)
            say(
                {
                    "ready": True,
                    "port": port,
                    "setup_seconds": time.perf_counter() - started,
                    "entities": len(hass.states.async_all()),
                    "missing": sorted(set(range(args.devices)) - set(targets.values())),
                }
            )
            loop = asyncio.get_running_loop()

            def rtt(samples: int) -> list[float]:
                return asyncio.run_coroutine_threadsafe(service_rtt(hass, samples), loop).result()

            async def count_tasks() -> dict[str, Any]:
                return {"tasks": len(asyncio.all_tasks()), "auth_calls": dict(auth_calls)}

            def stats() -> dict[str, Any]:
                """What the soak samples from inside: the event loop's tasks; and the calls
                of a broker that asks Home Assistant about its clients."""
                return asyncio.run_coroutine_threadsafe(count_tasks(), loop).result()

            while await asyncio.to_thread(
                commands, recorder, None if platform == "mqtt" else rtt, stats
            ):
                pass
            unlisten()
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()


def serve_floor(args: argparse.Namespace, recorder: Recorder) -> None:
    by_uuid = {make_uuid(seed(i)): i for i in range(args.devices)}
    names = {i: VARYING[kind(i)][0] for i in range(args.devices)}
    subscribed = threading.Event()
    answered = threading.Event()
    uuid, pid = make_uuid(seed(0)), TEMPLATES[kind(0)].pid
    issue = device_topic(TopicKind.ISSUE, pid, uuid)
    response = device_topic(TopicKind.ISSUE_RESPONSE, pid, uuid)

    def on_message(_client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == response:
            answered.set()
            return
        index = by_uuid[message.topic.split("/")[3]]
        properties = json.loads(message.payload)["data"]["properties"]
        recorder.applied_one(index, properties[names[index]])

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-floor")
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect("127.0.0.1", args.port, 60)
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_start()
    client.subscribe([(device_filter(TopicKind.REPORT), 1), (response, 1)])
    subscribed.wait(10)
    # A bare subscriber would not carry the modules this one imports to know the devices
    # (Home Assistant's among them): keep the collector off them, as if they were not here.
    gc.freeze()

    def rtt(samples: int) -> list[float]:
        """A bare request: ``ping`` to device 0 and its answer, in ms."""
        out = []
        for i in range(samples):
            answered.clear()
            body = messages.encode(messages.command(DeviceCommand.PING, msg_id=f"floor-{i}"))
            started = time.perf_counter_ns()
            client.publish(issue, body, qos=1)
            if answered.wait(5):
                out.append((time.perf_counter_ns() - started) / 1e6)
        return out

    say({"ready": True, "port": args.port, "setup_seconds": 0.0, "entities": 0, "missing": []})
    while commands(recorder, rtt):
        pass
    client.loop_stop()
    client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("row", choices=ROWS)
    parser.add_argument("--port", type=int, default=0, help="the broker's port (not rlink-server)")
    parser.add_argument("--http-port", type=int, default=0, help="Home Assistant's HTTP port")
    parser.add_argument("--auth-token", default="", help="the broker-auth token (rlink-rabbitmq)")
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--counters", type=Path, required=True)
    parser.add_argument("--slot", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    recorder = Recorder(Counters(args.counters), args.slot)
    if args.row == "floor":
        serve_floor(args, recorder)
    else:
        asyncio.run(serve_hass(args, recorder))
    os._exit(0)  # Home Assistant's executor threads are not waited for


if __name__ == "__main__":
    main()

"""What this project builds has the shape of the protocol document's example for its code.

Three runs collect real messages, each for the directions it can see:

- Home Assistant answering device events (``report_response``): a raw gateway client sends
  the spec's own examples to a local hub, as in ``test_responder_e2e``;
- Home Assistant's commands (``issue``, ``product_issue``) through services and entities to
  simulated devices, and what those devices send back (``report``, ``issue_response``,
  ``product_issue_response``);
- a cloud account: the app REST bodies Home Assistant posts (``rest``) and the notifications
  the fake cloud pushes (``notify``).

Each message is reduced to its shape (`spec_shapes`) and compared with the closest example
for its topic kind and code. An example that leaves out an envelope field (most replies show
no ``data``) is read with the generic envelope of its topic kind at the top of the document.
Every difference must be declared in `spec_deviations.DEVIATIONS`, and every declaration of
a run's directions must still occur. Codes a run never sees are declared below, with why.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Final

import pytest
from homeassistant.components.web_rtc import async_register_ice_servers
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from webrtc_models import RTCIceServer

from custom_components.rlink.const import (
    CONF_DEVICES,
    CONF_REMOTE_CONFIG,
    CONF_STORE_ACCESS_KEY,
    CONF_STORE_BUCKET,
    CONF_STORE_SECRET_KEY,
    DOMAIN,
)
from custom_components.rlink.firmware import DATA_FIRMWARE
from custom_components.rlink.protocol.codes import (
    AppNotification,
    DeviceCommand,
    DeviceEvent,
    ProductCommand,
)
from custom_components.rlink.protocol.messages import Message
from custom_components.rlink.protocol.rest import Endpoint
from custom_components.rlink.protocol.topics import TopicKind
from tools.rlink_sim import Simulator, VirtualDevice, make_uuid
from tools.rlink_sim.cloud import FakeCloud
from tools.rlink_sim.webrtc import viewer_offer

from .brokers import until
from .hub import (
    device,
    device_entry,
    enable_entity,
    entity_id,
    hub_with,
    store_device_settings,
    write_models,
)
from .spec_deviations import DEVIATIONS
from .spec_examples import SPEC_PATH, spec_examples
from .spec_shapes import EXTRA, MISSING, TYPE, Difference, Shape, compare, shape_of, union
from .test_cloud_e2e import _entity, cloud_entry
from .test_kind_firmware_camera import _firmware, _serve_http, open_webrtc_session
from .test_responder_e2e import SPEC_REPORTS, Rig, fixture_rig  # noqa: F401
from .test_spec_examples import EXPECTED

pytestmark = [
    pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"protocol document not at {SPEC_PATH}"),
]

REST: Final = "rest"
"""The direction name of app REST request bodies (their code is the endpoint)."""

# The directions each run sees; together, every direction there is.
ANSWERS_RUN: Final = ("report_response",)
COMMANDS_RUN: Final = (
    "issue",
    "product_issue",
    "report",
    "issue_response",
    "product_issue_response",
)
CLOUD_RUN: Final = (REST, "notify")

# The generic envelope of each topic kind, at the top of each part of the document.
GENERIC_LINES: Final = {
    "report": 62,
    "report_response": 74,
    "issue": 89,
    "issue_response": 100,
    "product_issue": 3360,
    "product_issue_response": 3372,
    "notify": 3440,
}

CODES: Final[dict[str, Iterable[Any]]] = {
    "report": DeviceEvent,
    "report_response": DeviceEvent,
    "issue": DeviceCommand,
    "issue_response": DeviceCommand,
    "product_issue": ProductCommand,
    "product_issue_response": ProductCommand,
    "notify": AppNotification,
    REST: Endpoint,
}

# Objects whose keys are not the protocol's but the device's: property identifiers of its
# object model, a pass-through command's own convention, details a device chooses to
# report. Their type is compared, their keys are not (the spec's `color`/`brightness` are
# examples of identifiers, not fields).
OPEN_OBJECTS: Final = (
    "*properties",
    "*actionData",
    "data.cmdData",
    "data.respData",
    "*propertiesInfo",
    "data.output",
    "data.config",  # the `config` answer: a device's remote configuration
    "body.data",  # REST: property values
    "body.cmdData",
)


def _is_open(path: str) -> bool:
    return any(fnmatchcase(path, pattern) for pattern in OPEN_OBJECTS)


def _opened(shape: Shape, path: str = "") -> Shape:
    """The shape with the keys of open objects dropped."""
    if _is_open(path):
        return Shape(shape.types)
    keys = {k: _opened(v, f"{path}.{k}" if path else k) for k, v in shape.keys.items()}
    items = _opened(shape.items, f"{path}[]") if shape.items is not None else None
    return Shape(shape.types, keys, items)


@dataclass(frozen=True)
class SpecExample:
    line: int
    kind: str
    code: str
    shape: Shape
    variant: Any = None
    """The value of the code's `VARIANTS` key in this example, if it has one."""


# Codes whose examples show one variant each, told apart by this key of `data` (of the body,
# for REST): a message is compared with the examples of its own variant when there are any.
VARIANTS: Final = {
    "model": "format",
    "sub_model": "format",
    "ota_progress": "type",
    "p2p_config": "type",
    "ipc_cloud": "type",
    "config_settings": "type",
    "config_settings_resp": "type",
    "configSettings": "type",
    "webrtc_signal_exchange": "method",
}


def variant(kind: str, code: str, value: Any) -> Any:
    key = VARIANTS.get(code)
    if key is None or not isinstance(value, dict):
        return None
    holder = value if kind == REST else value.get("data")
    return holder.get(key) if isinstance(holder, dict) else None


def _rest_endpoints(lines: list[str]) -> dict[int, str]:
    """The endpoint each REST body belongs to: the last `url:` line above it."""
    found: dict[int, str] = {}
    endpoint = ""
    pattern = re.compile(r"url: `\{host\}/business-app/v1/device/command/(\w+)`")
    for number, text in enumerate(lines, start=1):
        if match := pattern.search(text):
            endpoint = match.group(1)
        elif text.strip().lower() == "```json" and endpoint:
            found[number] = endpoint
    return found


def _spec_examples() -> list[SpecExample]:
    by_line = {e.line: e.load() for e in spec_examples()}
    generic = {kind: by_line[line] for kind, line in GENERIC_LINES.items()}
    out = []
    for line, kind, code in EXPECTED:
        if line in GENERIC_LINES.values():
            continue
        value = {k: v for k, v in generic[kind].items() if k not in by_line[line]}
        value.update(by_line[line])
        shape = _opened(shape_of(value))
        out.append(SpecExample(line, kind, code, shape, variant(kind, code, value)))
    rest = _rest_endpoints(SPEC_PATH.read_text(encoding="utf-8").splitlines())
    messages = {line for line, _, _ in EXPECTED}
    for line, value in by_line.items():
        if line not in messages:
            code = rest[line]
            shape = _opened(shape_of(value), "body")
            out.append(SpecExample(line, REST, code, shape, variant(REST, code, value)))
    return out


SPEC: Final = _spec_examples() if SPEC_PATH.exists() else []
WITH_EXAMPLE: Final = {(e.kind, e.code) for e in SPEC}


@dataclass
class Built:
    """One message this project built, and where it was compared."""

    kind: str
    code: str
    value: Any
    example: SpecExample | None = None
    differences: list[Difference] = field(default_factory=list)


def _root(kind: str) -> str:
    return "body" if kind == REST else ""


def closest(kind: str, code: str, value: Any) -> tuple[SpecExample, list[Difference]]:
    """The example of this kind and code that differs least from `value`, and how."""
    root = _root(kind)
    shape = _opened(shape_of(value), root)
    candidates = [e for e in SPEC if (e.kind, e.code) == (kind, code)]
    assert candidates, f"no example for {kind} {code}"
    wanted = variant(kind, code, value)
    same = [e for e in candidates if wanted is not None and e.variant == wanted]
    options = [(compare(shape, e.shape, root), e) for e in same or candidates]
    differences, example = min(options, key=lambda o: (len(o[0]), o[1].line))
    return example, differences


class Conformance:
    """Collects what one run built and checks it against the examples and the table."""

    def __init__(self, *kinds: str) -> None:
        self.kinds = frozenset(kinds)
        self.built: list[Built] = []

    def add(self, kind: str, code: Any, value: Any) -> None:
        assert kind in self.kinds, f"{kind} is not a direction of this run"
        self.built.append(Built(kind, str(code), value))

    def message(self, message: Message) -> None:
        self.add(str(message.kind), message.code, message.to_json())

    def problems(self) -> list[str]:
        """Undeclared differences, declarations that no longer hold, codes not seen."""
        found: set[tuple[str, str, str]] = set()
        problems = []
        for built in self.built:
            if (built.kind, built.code) not in WITH_EXAMPLE:
                continue  # checked by test_codes_without_an_example
            built.example, built.differences = closest(built.kind, built.code, built.value)
            for difference in built.differences:
                key = (built.kind, built.code, difference.path)
                found.add(key)
                if key not in DEVIATIONS:
                    problems.append(
                        f"undeclared: {key} {difference.kind} ({difference.detail}), "
                        f"example at line {built.example.line}"
                    )
        for key in sorted(DEVIATIONS):
            if key[0] in self.kinds and key not in found:
                problems.append(f"declared but not found any more: {key}")
        seen = {(b.kind, b.code) for b in self.built}
        for pair in sorted(WITH_EXAMPLE):
            if pair[0] not in self.kinds:
                continue
            if pair not in seen and pair not in NOT_BUILT:
                problems.append(f"built nowhere in this run and not declared: {pair}")
            if pair in seen and pair in NOT_BUILT:
                problems.append(f"declared as not built, but built: {pair}")
        return sorted(set(problems))

    def check(self) -> None:
        problems = self.problems()
        assert not problems, "\n".join(problems)


# Pairs with an example that no run compares, because nothing in this project builds them.
NOT_BUILT: Final[dict[tuple[str, str], str]] = {
    ("report_response", "ipc_cloud"): (
        "answered with status 1006: cloud video storage is a service of the vendor's cloud"
    ),
    ("report_response", "agora_token"): "answered with status 1006: Agora is the vendor's service",
    ("report_response", "ipc_live_get"): (
        "answered with status 1006: Home Assistant runs no RTSPS/RTMPS ingest for live streams"
    ),
    ("report_response", "agora_ai_token"): "answered with status 1006: Agora is the vendor's",
    # Commands no entity or service of Home Assistant sends (see the README's "Services").
    **{
        ("issue", code): reason
        for codes, reason in (
            (
                ("agora_join", "agora_event", "ipc_cloud_open"),
                "the vendor's Agora and cloud video services, which a local hub does not run",
            ),
            (
                ("dp_bind", "local_dp_group_update", "group_info_update"),
                "gateway bindings and DP groups Home Assistant does not manage",
            ),
            (("common_cmd",), "a pass-through whose command types the protocol leaves open"),
            (("config_settings",), "Wi-Fi and allow-list provisioning, not an automation's job"),
            (("log_switch",), "a device's log upload is its option, given in the info answer"),
            (("clean_data",), "the protocol says not what it clears; the factory reset does"),
        )
        for code in codes
    },
    **{
        ("issue_response", code): "nothing sends the command"
        for code in (
            "ipc_cloud_open",
            "dp_bind",
            "local_dp_group_update",
            "group_info_update",
            "common_cmd",
            "config_settings",
            "log_switch",
            "clean_data",
        )
    },
    # Events the simulated devices never send of their own accord; the hub's answers to
    # them are checked with the document's own examples (test_answers_to_device_events).
    **{
        ("report", code): "the simulator has no behaviour that sends it"
        for code in (
            "reset",
            "config",
            "sub_delete",
            "sub_loginout",
            "sub_list",
            "ipc_cloud",
            "p2p_config",
            "agora_token",
            "ipc_token_bind",
            "find_alert",
            "ipc_live_get",
            "agora_ai_token",
            "weather",
            "webrtc_config",
        )
    },
    **{
        ("notify", code): "the fake cloud has no behaviour that sends it"
        for code in (
            "ipc_token_used",
            "matter_find",
            "matter_pair",
            "local_group_result",
            "local_scene_result",
        )
    },
    ("rest", "notifyDeviceJoin"): "agora_join: nothing sends it",
    ("rest", "commonCmd"): "common_cmd: nothing sends it",
    ("rest", "configSettings"): "config_settings: nothing sends it",
    **{
        ("notify", code): "the answer to a command nothing sends"
        for code in ("common_cmd_resp", "config_settings_resp")
    },
    **{
        ("report", code): "the simulated vacuum keeps no maps; tests send these with their data"
        for code in (
            "sweeper_sts_token",
            "sweeper_map_list",
            "sweeper_map_add",
            "sweeper_map_update",
            "sweeper_map_del",
            "sweeper_record_add",
        )
    },
}

# Pairs the document gives no example for, whatever builds them.
WITHOUT_EXAMPLE: Final[dict[tuple[str, str], str]] = {
    ("report_response", "local_data_sync"): (
        "the document shows no answer; the hub replies with empty data and sends gateway_data_init"
    ),
    ("report_response", "webrtc_signal_exchange"): (
        "sent without ack: the document shows no answer to a signalling message"
    ),
    ("issue", "sub_add"): "listed in the command table without a payload",
    ("issue_response", "sub_add"): "listed in the command table without a payload",
    ("issue_response", "agora_join"): "the document shows no reply to it",
    ("issue_response", "agora_event"): "the document shows no reply to it",
    ("notify", "signal_check_result"): (
        "marked obsolete: device_property_update carries the signal now"
    ),
}


def test_codes_without_an_example() -> None:
    """Every code of every direction has an example, or is declared here with why not."""
    missing = {
        (kind, str(code))
        for kind, codes in CODES.items()
        for code in codes
        if (kind, str(code)) not in WITH_EXAMPLE
    }
    assert missing == set(WITHOUT_EXAMPLE)
    assert not set(NOT_BUILT) & set(WITHOUT_EXAMPLE)


def test_every_declared_deviation_names_a_code_with_an_example() -> None:
    for kind, code, path in DEVIATIONS:
        assert (kind, code) in WITH_EXAMPLE, (kind, code, path)
        assert DEVIATIONS[kind, code, path].strip(), (kind, code, path)


def test_the_runs_see_every_direction() -> None:
    runs = [ANSWERS_RUN, COMMANDS_RUN, CLOUD_RUN]
    assert sorted(k for run in runs for k in run) == sorted(CODES)
    assert {kind for kind, _ in NOT_BUILT} <= set(CODES)


# --- the shape utility ----------------------------------------------------------------------


def test_shapes_ignore_values_and_number_kinds() -> None:
    assert compare(shape_of({"a": 1, "b": "x"}), shape_of({"b": "y", "a": 2.5})) == []
    assert shape_of(True).types == {"bool"}
    assert shape_of(None).types == {"null"}


def test_shapes_find_missing_extra_and_retyped_keys() -> None:
    built = {"data": {"devices": [{"uuid": "u", "pid": 1}], "extra": []}}
    example = {"data": {"devices": [{"uuid": "u", "pid": "p", "version": "1"}]}}
    found = [(d.path, d.kind) for d in compare(shape_of(built), shape_of(example))]
    assert found == [
        ("data.devices[].pid", TYPE),
        ("data.devices[].version", MISSING),
        ("data.extra", EXTRA),
    ]


def test_array_items_are_compared_as_the_union_of_their_shapes() -> None:
    both = shape_of([{"type": "device", "uuid": "u"}, {"type": "job", "time": "18:00"}])
    assert both.items is not None
    assert set(both.items.keys) == {"type", "uuid", "time"}
    one = shape_of([{"type": "device", "uuid": "u"}])
    assert [(d.path, d.kind) for d in compare(one, both)] == [("[].time", MISSING)]
    assert compare(shape_of([]), both) == []  # an empty array says nothing of its items
    mixed = union(shape_of(1), shape_of("1"))
    assert [d.kind for d in compare(shape_of(1), mixed)] == [TYPE]


def test_open_objects_compare_type_not_keys() -> None:
    example, differences = closest(
        "issue",
        "property_set",
        {
            "id": "1",
            "ts": 1,
            "code": "property_set",
            "ack": 0,
            "data": {"properties": {"switch": 1}},
        },
    )
    assert example.line == 1949
    assert differences == []
    _, differences = closest(
        "issue",
        "property_set",
        {"id": "1", "ts": 1, "code": "property_set", "ack": 0, "data": {"properties": 1}},
    )
    assert [(d.path, d.kind) for d in differences] == [("data.properties", TYPE)]


# --- Home Assistant's answers to device events -----------------------------------------------


@pytest.mark.usefixtures("custom_integrations", "sockets")
async def test_answers_to_device_events(rig: Rig) -> None:
    """Every event code, sent as the spec writes it (asking for a reply), and the answer."""
    seen = Conformance(*ANSWERS_RUN)
    ids = itertools.count(1)

    async def answer(body: dict[str, Any], **data: Any) -> Message:
        """Send the example, asking for a reply whatever its ack; the answer if it has data."""
        sent = {**body, "id": f"conformance-{next(ids)}", "ack": 1}
        if data:
            sent["data"] = {**body.get("data", {}), **data}
        reply = await rig.send(sent)
        assert reply is not None
        if reply.res == 0:
            seen.message(reply)
        return reply

    def example(code: str) -> dict[str, Any]:
        return SPEC_REPORTS[code][0]

    def set_options(**options: Any) -> None:
        store_device_settings(rig.hass, rig.hub.entry, rig.uuid, options)

    store = {CONF_STORE_BUCKET: "maps", CONF_STORE_ACCESS_KEY: "AK", CONF_STORE_SECRET_KEY: "S"}
    set_options(**{CONF_REMOTE_CONFIG: {"led": 1}}, **store)
    for code in ("reset", "time", "config", "bind", "property_report", "event"):
        for body in SPEC_REPORTS[code]:
            await answer(body)
    for fmt in ("complete", "simple", "mini"):
        await answer(example("model"), format=fmt)
        await answer(example("sub_model"), format=fmt)
    for body in SPEC_REPORTS["ota_progress"]:
        await answer(body)
    for code in ("sub_bind", "sub_login", "sub_loginout", "sub_property_report", "sub_list"):
        await answer(example(code))
    await answer(example("sub_delete"))  # the example's device was bound by sub_bind
    for code in ("local_config", "ipc_token_bind", "find_alert", "find_report", "pwd_sync"):
        await answer(example(code))
    await answer(example("update_properties_info"))
    await answer(example("sweeper_sts_token"))
    added = await answer(example("sweeper_map_add"))
    listed = await answer(example("sweeper_map_list"))
    assert listed.data["mapSignPath"] == ""  # a key in a store without a public address
    await answer(example("sweeper_map_update"), mapId=added.data["mapId"])
    await answer(example("sweeper_record_add"), mapId=added.data["mapId"])
    await answer(example("sweeper_map_del"), mapId=added.data["mapId"])
    for code in ("ipc_cloud", "agora_token", "ipc_live_get", "agora_ai_token"):
        for body in SPEC_REPORTS[code]:
            assert (await answer(body)).res == 1006

    # No weather entity, no TURN server, the device's logs off: what Home Assistant cannot
    # give is left out. Its own address it always has (the harness's fake adapter here).
    info = await answer(example("info"))
    assert info.data["tcpUrl"] == rig.hass.config.api.local_ip
    assert info.data["logSwitch"] == {"enable": 0}
    assert "temperature" not in (await answer(example("weather"))).data
    assert "auth" not in (await answer(example("webrtc_config"))).data
    assert "auth" not in (await answer(example("p2p_config"), type="webrtc")).data["webrtcConfig"]
    # And with them; a local URL set in Home Assistant names its host.
    await rig.hass.config.async_update(internal_url="http://192.168.1.20:8123")
    set_options(log_enable=True, log_mode=2, log_interval=30, **store)
    rig.hass.states.async_set(
        "weather.home", "sunny", {"temperature": 68, "temperature_unit": "°F"}
    )
    turn = RTCIceServer(urls="turn:turn.example.net:3478", username="u", credential="c")
    async_register_ice_servers(rig.hass, lambda: [turn])
    info = await answer(example("info"))
    assert info.data["tcpUrl"] == "192.168.1.20"
    assert info.data["logSwitch"] == {"enable": 1, "tttype": 2, "intervalTime": 30}
    assert (await answer(example("weather"))).data["temperature"] == 20
    assert (await answer(example("webrtc_config"))).data["auth"]["userName"] == "u"
    assert (await answer(example("p2p_config"), type="webrtc")).data["webrtcConfig"]["auth"]
    seen.check()


# --- Home Assistant's commands, and what simulated devices say -------------------------------


def collect_simulator(seen: Conformance, sim: Simulator) -> None:
    """Everything the simulated devices were sent by Home Assistant, and sent themselves."""
    for virtual in sim.devices.values():
        for message in virtual.received:
            if message.kind in (TopicKind.ISSUE, TopicKind.PRODUCT_ISSUE):
                seen.message(message)
        for message in (*virtual.sent, *virtual.replied):
            seen.message(message)


@asynccontextmanager
async def restarting(virtual: VirtualDevice) -> AsyncIterator[None]:
    """Wait, after what the block sends, until the device has restarted and is back."""
    starts = sum(m.code == DeviceEvent.BIND for m in virtual.sent)
    yield
    await until(
        lambda: (
            sum(m.code == DeviceEvent.BIND for m in virtual.sent) > starts
            and virtual.started.is_set()
        ),
        10,
    )


def scene(uuid: str) -> dict[str, Any]:
    """`rlink.update_local_scene` for a rule with a device and a timer condition."""
    action = {"orderNum": 1, "actionType": "device", "uuid": uuid, "delayedTime": 0}
    return {
        "short_id": 3,
        "name": "Evening",
        "execute_type": "all",
        "conditions": [
            {
                "orderNum": 1,
                "type": "device",
                "uuid": uuid,
                "conditionColumn": "switch",
                "conditionExpress": "==",
                "conditionValue": True,
            },
            {
                "orderNum": 2,
                "type": "job",
                "loops": "1111100",
                "time": "18:00",
                "startDate": "2026-01-01",
            },
        ],
        "actions": [
            {**action, "actionData": {"switch": False}},
            {
                "orderNum": 2,
                "actionType": "group",
                "shortGroupId": 7,
                "delayedTime": 60,
                "actionData": {"switch": False},
            },
        ],
    }


def one_click(uuid: str) -> dict[str, Any]:
    """A rule without conditions: a one-click execution."""
    return {
        "short_id": 4,
        "name": "All on",
        "actions": [
            {
                "orderNum": 1,
                "actionType": "device",
                "uuid": uuid,
                "delayedTime": 0,
                "actionData": {"switch": True},
            },
            {
                "orderNum": 2,
                "actionType": "group",
                "shortGroupId": 7,
                "delayedTime": 0,
                "actionData": {"switch": True},
            },
        ],
    }


@pytest.mark.usefixtures("custom_integrations", "sockets", "loopback_ice")
async def test_commands_and_what_devices_say(
    hass: HomeAssistant, hass_client_no_auth: Any, hass_ws_client: Any
) -> None:
    """Services and entities drive every command Home Assistant sends; the simulated
    devices answer, report and announce themselves."""
    seen = Conformance(*COMMANDS_RUN)
    kids = [device("plug", "conf-kid-1"), device("plug", "conf-kid-2"), device("lock", "conf-lock")]
    sensor = device("sensor", "conf-sensor")
    newcomer = device("sensor", "conf-newcomer")
    gateway = device("gateway", "conf-gw", sub_devices=[*kids, sensor], found_devices=[newcomer])
    plug, camera = device("plug", "conf-plug"), device("camera", "conf-cam")
    door = device("lock", "conf-door")
    assert await async_setup_component(hass, "homeassistant", {})  # update_entity
    assert await async_setup_component(hass, "config", {})  # the device page's delete
    enable_entity(hass, "button", plug.uuid, "button_factory_reset")
    entry = await hub_with(hass, plug, gateway, camera, door)
    hub = entry.runtime_data.coordinator
    client = await hass_ws_client(hass)  # before the HTTP app is frozen by the next line
    await _serve_http(hass, hass_client_no_auth)
    _firmware(hass, sensor.product_id, "sensor_v1.1.0.bin", b"sensor firmware 1.1")

    async def call(service: str, target: str, domain: str = DOMAIN, **data: Any) -> Any:
        """A service call on one device (its registry id) or one entity."""
        key = "entity_id" if "." in target else "device_id"
        target_id = target if key == "entity_id" else device_entry(hass, target).id
        return await hass.services.async_call(
            domain,
            service,
            {key: target_id, **data},
            blocking=True,
        )

    async def ask(target: str, code: str, data: dict[str, Any]) -> None:
        """A command Home Assistant sends without ack, sent again as it was but asking for
        a reply, so that the device's reply to it can be seen."""
        await hub.async_command(hub.devices[target], DeviceCommand(code), data, ack=True)

    async def press(uuid: str, button: str) -> None:
        await call("press", entity_id(hass, "button", uuid, button), "button")

    async def last(virtual: VirtualDevice, code: str) -> dict[str, Any]:
        """The data of the latest command with `code` the device got, once it has one."""
        await until(lambda: any(m.code == code for m in virtual.received))
        return dict(next(m for m in reversed(virtual.received) if m.code == code).data)

    sim = Simulator("127.0.0.1", hub.transport.broker.port, [plug, gateway, camera, door])
    # A code added on the door lock's keypad: the lock's start-up sync lists it.
    sim.device(door.uuid).passwords[1] = {
        "index": 1,
        "type": 1,
        "deviceUserId": "001",
        "pwd": "123456",
        "timeType": 3,
        "activeTime": 1767225600,
        "expireTime": 1798761600,
        "startTime": "12:00",
        "endTime": "13:00",
        "loops": "1111111",
    }
    turn = RTCIceServer(urls="turn:turn.example.net:3478", username="u", credential="c")
    async_register_ice_servers(hass, lambda: [turn])
    async with sim:
        gw, own = sim.device(gateway.uuid), sim.device(plug.uuid)
        switch = entity_id(hass, "switch", plug.uuid, "switch")
        await until(lambda: hass.states.get(switch).state == "off")
        await until(lambda: all(k.uuid in hub.devices for k in (*kids, sensor)))

        # A device on its own.
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        await call("update_entity", switch, "homeassistant")
        await ask(plug.uuid, "property_get", await last(own, "property_get"))
        await press(plug.uuid, "button_check_connection")

        # Sub-devices, through their gateway.
        kid_switch = entity_id(hass, "switch", kids[0].uuid, "switch")
        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": kid_switch}, blocking=True
        )
        lock_id = entity_id(hass, "lock", kids[2].uuid, "lock")
        hass.config_entries.async_update_entry(
            entry, options={CONF_DEVICES: {kids[2].uuid: {"unlock_index": 901}}}
        )
        await call("unlock", lock_id, "lock", code="70f05e98")
        await call(
            "set_lock_password",
            lock_id,
            index=5,
            code="135790",
            user="007",
            time_type="limited",
            active="2026-12-01 08:00:00",
            expire="2026-12-31 20:00:00",
            start_time="08:00",
            end_time="18:30",
            weekdays=["mon", "wed"],
        )
        kitchen = ar.async_get(hass).async_create("Kitchen")
        dr.async_get(hass).async_update_device(
            device_entry(hass, kids[0].uuid).id, name_by_user="Kettle", area_id=kitchen.id
        )
        await until(lambda: any(m.code == "device_info_update" for m in gw.received))
        await ask(gateway.uuid, "device_info_update", await last(gw, "device_info_update"))
        await press(gateway.uuid, "button_search_sub_devices")
        await until(lambda: newcomer.uuid in hub.devices)

        # Local groups, scenes and one-click executions.
        members = [device_entry(hass, k.uuid).id for k in kids[:2]]
        await call(
            "update_local_group",
            gateway.uuid,
            short_id=7,
            name="Kids",
            members=members,
            area_id=kitchen.id,
        )
        await call("local_group_control", gateway.uuid, short_id=7, properties={"switch": False})
        await call("update_local_scene", gateway.uuid, **scene(kids[0].uuid))
        await call("update_local_scene", gateway.uuid, **one_click(kids[1].uuid))
        await call("turn_on", entity_id(hass, "scene", gateway.uuid, "execute_4"), "scene")
        await gw.send(DeviceEvent.LOCAL_CONFIG, ack=False)
        await until(lambda: any(m.code == "update_local_config" for m in gw.received))
        await ask(gateway.uuid, "update_local_config", await last(gw, "update_local_config"))
        await gw.send(DeviceEvent.LOCAL_DATA_SYNC, gw.local_data())
        await until(lambda: any(m.code == "gateway_data_init" for m in gw.received))
        await ask(gateway.uuid, "gateway_data_init", await last(gw, "gateway_data_init"))

        # Firmware: one sub-device, then its whole product.
        await hass.data[DATA_FIRMWARE].async_scan()
        update = entity_id(hass, "update", sensor.uuid, "firmware")
        await until(lambda: hass.states.get(update).state == "on")
        await hass.services.async_call("update", "install", {"entity_id": update}, blocking=True)
        _firmware(hass, sensor.product_id, "sensor_v2.0.0.bin", b"sensor firmware 2.0")
        await hass.data[DATA_FIRMWARE].async_scan()
        await hass.services.async_call(
            DOMAIN, "firmware_update", {"product": sensor.product_id}, blocking=True
        )
        await until(lambda: gw.subs[sensor.uuid].config.version == "2.0.0")

        # A camera's live view.
        cam = entity_id(hass, "camera", camera.uuid, "camera")
        subscribed, session = await open_webrtc_session(client, cam, await viewer_offer())
        candidate = {"candidate": "candidate:1 1 UDP 1 127.0.0.1 9 typ host", "sdpMid": "0"}
        await client.send_json_auto_id(
            {
                "type": "camera/webrtc/candidate",
                "entity_id": cam,
                "session_id": session["session_id"],
                "candidate": candidate,
            }
        )
        assert (await client.receive_json())["success"]
        viewer = sim.device(camera.uuid)
        await until(lambda: sum(m.code == "webrtc_signal_exchange" for m in viewer.received) == 2)
        await client.send_json_auto_id(
            {"type": "unsubscribe_events", "subscription": subscribed["id"]}
        )
        assert (await client.receive_json())["success"]
        await until(lambda: sum(m.code == "webrtc_signal_exchange" for m in viewer.received) == 3)
        await ask(
            camera.uuid, "webrtc_signal_exchange", await last(viewer, "webrtc_signal_exchange")
        )

        await viewer.emit("alarm", {"type": "ipc_motion", "imageUrl": ""})

        # Replacing and removing sub-devices, and restarts, come last.
        await call("replace_sub_device", kids[0].uuid, new_uuid=make_uuid("conf-kid-new"))
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove",
                "device_id": device_entry(hass, kids[1].uuid).id,
            }
        )
        assert (await client.receive_json())["success"]
        async with restarting(gw):
            await press(kids[2].uuid, "button_reboot")
        await ask(gateway.uuid, "reboot", await last(gw, "reboot"))
        async with restarting(own):
            await press(plug.uuid, "button_factory_reset")
        await ask(plug.uuid, "reset", await last(own, "reset"))
        collect_simulator(seen, sim)
    assert await hass.config_entries.async_unload(entry.entry_id)
    seen.check()


# --- A cloud account: REST bodies, and the notifications of the fake cloud ---------------------


@pytest.mark.usefixtures("custom_integrations", "sockets", "loopback_ice")
async def test_cloud_requests_and_notifications(
    hass: HomeAssistant, hass_client_no_auth: Any, hass_ws_client: Any
) -> None:
    """Every REST call the cloud account makes, and what the fake cloud pushes back."""
    seen = Conformance(*CLOUD_RUN)
    plugs = [device("plug", "conf-cloud-plug"), device("plug", "conf-cloud-plug-2")]
    kid, newcomer = device("plug", "conf-cloud-kid"), device("sensor", "conf-cloud-new")
    gateway = device("gateway", "conf-cloud-gw", sub_devices=[kid], found_devices=[newcomer])
    camera, lock = device("camera", "conf-cloud-cam"), device("lock", "conf-cloud-lock")
    write_models(hass, ["plug", "gateway", "sensor", "camera", "lock"])
    assert await async_setup_component(hass, "homeassistant", {})  # update_entity
    async with FakeCloud([*plugs, gateway, camera, lock]) as cloud:
        entry = await cloud_entry(hass, cloud)
        client = await hass_ws_client(hass)  # before the HTTP app is frozen by the next line
        await _serve_http(hass, hass_client_no_auth)
        _firmware(hass, plugs[0].product_id, "plug_v1.1.0.bin", b"cloud plug firmware")
        ids = {c.uuid: cloud.device_id(c.uuid) for c in (*plugs, gateway, kid, camera, lock)}
        devices = entry.runtime_data.coordinator.devices
        await until(lambda: all(i in devices and devices[i].online for i in ids.values()), 10)

        async def call(service: str, target: str, domain: str = DOMAIN, **data: Any) -> None:
            key = "entity_id" if "." in target else "device_id"
            target_id = target if key == "entity_id" else device_entry(hass, ids[target]).id
            await hass.services.async_call(domain, service, {key: target_id, **data}, blocking=True)

        switch = await _entity(hass, "switch", ids[plugs[0].uuid], "switch")
        await until(lambda: hass.states.get(switch).state == "off", 10)
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        await hass.services.async_call(
            DOMAIN,
            "set_properties",
            {
                "device_id": [device_entry(hass, ids[p.uuid]).id for p in plugs],
                "properties": {"switch": False},
            },
            blocking=True,
        )
        await call("cloud_report_properties", plugs[0].uuid, properties={"power": 12.5})
        await call("update_entity", switch, "homeassistant")
        check = entity_id(hass, "button", ids[plugs[0].uuid], "button_check_connection")
        await call("press", check, "button")
        cloud.groups["grp01"] = [ids[p.uuid] for p in plugs]
        await hass.services.async_call(
            DOMAIN,
            "cloud_group_control",
            {"config_entry_id": entry.entry_id, "group_id": "grp01", "properties": {"switch": 1}},
            blocking=True,
        )
        cloud.scenes["scene01"] = [(ids[plugs[1].uuid], {"switch": 0})]
        await hass.services.async_call(
            DOMAIN,
            "cloud_execute_scene",
            {"config_entry_id": entry.entry_id, "scene_id": "scene01"},
            blocking=True,
        )
        search = entity_id(hass, "button", ids[gateway.uuid], "button_search_sub_devices")
        await call("press", search, "button")
        await until(lambda: any(m.code == "find" for _t, m in cloud.notifications))
        await call("replace_sub_device", kid.uuid, new_uuid=make_uuid("conf-cloud-kid-new"))

        # Events the devices raise, passed on by the cloud.
        assert cloud.simulator is not None
        cam = cloud.simulator.device(camera.uuid)
        await cam.emit("alarm", {"type": "ipc_motion", "imageUrl": ""})
        await cam.send(DeviceEvent.FIND_ALERT, {})
        await until(lambda: any(m.code == "alert" for _t, m in cloud.notifications))

        # A live view: the camera is woken, and signals both ways.
        view = await _entity(hass, "camera", ids[camera.uuid], "camera")
        await until(lambda: hass.states.get(view).state == "idle", 10)
        subscribed, session = await open_webrtc_session(client, view, await viewer_offer())
        await client.send_json_auto_id(
            {
                "type": "camera/webrtc/candidate",
                "entity_id": view,
                "session_id": session["session_id"],
                "candidate": {"candidate": "candidate:1 1 UDP 1 127.0.0.1 9 typ host"},
            }
        )
        assert (await client.receive_json())["success"]
        await client.send_json_auto_id(
            {"type": "unsubscribe_events", "subscription": subscribed["id"]}
        )
        assert (await client.receive_json())["success"]
        await until(lambda: any(b.get("method") == "CLOSE" for b in _bodies(cloud)))

        # Firmware: one device, then the whole product; then a restart.
        await hass.data[DATA_FIRMWARE].async_scan()
        update = await _entity(hass, "update", ids[plugs[0].uuid], "firmware")
        await until(lambda: hass.states.get(update).attributes.get("latest_version") == "1.1.0")
        await hass.services.async_call("update", "install", {"entity_id": update}, blocking=True)
        await hass.services.async_call(
            DOMAIN, "firmware_update", {"product": plugs[0].product_id}, blocking=True
        )
        await call(
            "press", entity_id(hass, "button", ids[plugs[1].uuid], "button_reboot"), "button"
        )
        await until(lambda: any(c.endpoint == "reboot" for c in cloud.calls))

        for call_made in cloud.calls:
            seen.add(REST, call_made.endpoint, call_made.body)
        for _topic, message in cloud.notifications:
            seen.message(message)
        assert await hass.config_entries.async_unload(entry.entry_id)
    seen.check()


def _bodies(cloud: FakeCloud) -> list[dict[str, Any]]:
    return [c.body for c in cloud.calls if isinstance(c.body, dict)]

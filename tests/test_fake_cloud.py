"""The simulated rlink cloud on its own: app logins, the notification ACL, REST to device."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from rlink_sim import DeviceConfig, make_secret, make_uuid
from rlink_sim.cloud import DEFAULT_SECRET, DEFAULT_USER, FakeCloud, device_id_for

from custom_components.rlink.protocol import rest
from custom_components.rlink.protocol.auth import app_credentials
from custom_components.rlink.protocol.codes import AppNotification as Note
from custom_components.rlink.protocol.messages import Message
from custom_components.rlink.protocol.rest import RestClient
from custom_components.rlink.protocol.session import AuthRefused, MqttSession
from custom_components.rlink.protocol.topics import Topic, TopicKind, app_topic

from .brokers import free_port, until

PLUG = DeviceConfig(make_uuid("cloud-plug"), make_secret("cloud-plug"), kind="plug")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(name="cloud")
async def fixture_cloud(sockets: None) -> AsyncIterator[FakeCloud]:
    cloud = FakeCloud([PLUG])
    await cloud.start()
    yield cloud
    await cloud.stop()


def app_session(cloud: FakeCloud, secret: str = DEFAULT_SECRET) -> MqttSession:
    return MqttSession(
        "127.0.0.1", cloud.mqtt_port, lambda: app_credentials(DEFAULT_USER, secret), name="app"
    )


async def test_rest_command_reaches_the_device_and_comes_back_as_a_notification(
    cloud: FakeCloud,
) -> None:
    heard: list[Message] = []
    app = app_session(cloud)

    def on_note(topic: Topic, message: Message) -> None:
        heard.append(message)

    app.subscribe(app_topic(TopicKind.NOTIFY, cloud.home), on_note)
    await app.connect()
    device_id = cloud.device_id(PLUG.uuid)
    async with aiohttp.ClientSession() as http:
        client = RestClient(http, cloud.rest_url, DEFAULT_USER, DEFAULT_SECRET)
        await client.call(rest.props_issue(device_id, {"switch": 0}))
        await until(
            lambda: any(
                m.code == Note.PROPERTY_CHANGE
                and m.data["devices"][0]["properties"].get("switch") == 0
                for m in heard
            )
        )
        assert cloud.simulator is not None
        assert cloud.simulator.device(PLUG.uuid).values["switch"] == 0
        with pytest.raises(rest.RlinkError) as err:
            await client.call(rest.props_issue("nobody", {"switch": 0}))
        assert err.value.code == 1004
        wrong = RestClient(http, cloud.rest_url, DEFAULT_USER, "not-the-secret")
        with pytest.raises(rest.RestAuthError):
            await wrong.call(rest.reboot(device_id))
    await app.close()


async def test_apps_need_the_right_secret_and_see_only_their_homes(cloud: FakeCloud) -> None:
    with pytest.raises(AuthRefused):
        await app_session(cloud, "wrong").connect()
    heard: list[Message] = []
    app = app_session(cloud)
    app.subscribe(app_topic(TopicKind.NOTIFY, "someone-elses-home"), lambda t, m: heard.append(m))
    app.subscribe(app_topic(TopicKind.USER_NOTIFY, DEFAULT_USER), lambda t, m: heard.append(m))
    await app.connect()
    await asyncio.wait_for(app.wait_subscribed(), 5)
    from custom_components.rlink.protocol import messages  # noqa: PLC0415

    cloud.session.publish(
        app_topic(TopicKind.NOTIFY, "someone-elses-home"),
        messages.notification(Note.ALERT, {"deviceId": "x"}),
    )
    cloud.notify(Note.SYS_NOTICE, {"type": "message", "messageInfo": {"title": "hi"}})
    await until(lambda: len(heard) >= 1)
    await asyncio.sleep(0.2)
    assert [m.code for m in heard] == [Note.SYS_NOTICE]
    await app.close()


async def test_the_command_line_cloud_takes_an_app_and_its_rest_calls(
    sockets: None, tmp_path: Path
) -> None:
    """`python -m rlink_sim --cloud`: what `scripts/develop --cloud` and a manual setup use."""
    (tmp_path / "devices.yaml").write_text(
        f"devices:\n  - {{uuid: {PLUG.uuid}, secret: {PLUG.secret}, kind: plug}}\n"
    )
    mqtt_port, rest_port = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rlink_sim",
        "--cloud",
        "--broker",
        f"127.0.0.1:{mqtt_port}",
        "--rest-port",
        str(rest_port),
        "--config",
        str(tmp_path / "devices.yaml"),
        "--summary",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tools")])},
    )
    try:
        assert process.stdout is not None
        account = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
        assert account == {
            "user_id": DEFAULT_USER,
            "app_secret": DEFAULT_SECRET,
            "home": "home01",
            "mqtt": f"127.0.0.1:{mqtt_port}",
            "rest_url": f"http://127.0.0.1:{rest_port}",
        }
        heard: list[Message] = []
        app = MqttSession(
            "127.0.0.1", mqtt_port, lambda: app_credentials(DEFAULT_USER, DEFAULT_SECRET)
        )
        app.subscribe(app_topic(TopicKind.NOTIFY, "home01"), lambda _t, m: heard.append(m))
        await app.connect()
        async with aiohttp.ClientSession() as http:
            client = RestClient(http, account["rest_url"], DEFAULT_USER, DEFAULT_SECRET)
            await client.call(rest.props_issue(device_id_for(PLUG.uuid), {"switch": 1}))
        await until(
            lambda: any(
                m.code == Note.PROPERTY_CHANGE
                and m.data["devices"][0]["properties"].get("switch") == 1
                for m in heard
            ),
            10,
        )
        await app.close()
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 30) == 0  # a clean stop on Ctrl-C

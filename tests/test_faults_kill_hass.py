"""kill -9 of a real Home Assistant (``python -m homeassistant``, a config directory made as
`tools.develop` makes one) in the middle of a device's numbered reports, then a restart.

What reached Home Assistant is read from its own history (the recorder's database, after a
clean stop at the end). Every report acknowledged before the kill is in it, but for those
acknowledged in its last seconds: they were states already, and died with the process before
the recorder wrote them (the issue's bound: a kill -9 loses at most the values of the last
few seconds). Every report sent while Home Assistant was down or after it came back is in it
without exception: the device keeps them until the device server is back, and the hub
handles them once its entities exist again. The hub's configuration survives too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools import develop

from .brokers import free_port, until
from .faults import NumberedReporter, missing
from .hub import device

pytestmark = pytest.mark.usefixtures("sockets")

PLUG = device("plug", "killed-hass-plug")
PROBE = device("sensor", "killed-hass-probe")
"""Logs in to tell that the device server is up (the plug's own logins stay its own)."""
LAST_MOMENT = 5.0
"""Seconds before the kill whose acknowledged reports the recorder may not have written yet:
it commits from a thread of its own, and on a busy machine runs that far behind."""
CONFIGURATION = """\
homeassistant:
  name: Fault test
  time_zone: UTC
recorder:
  commit_interval: 0
logger:
  default: warning
"""


def _start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "homeassistant", "-c", str(config)],
        env={**os.environ, "PYTHONPATH": str(develop.REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _serving(port: int, process: subprocess.Popen[bytes]) -> None:
    await develop._wait_for_broker(port, PROBE, process, 120)


def _history(config: Path) -> set[int]:
    """Every number the plug's counter showed, from the recorder's database."""
    path = config / "home-assistant_v2.db"
    if not path.exists():
        return set()
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        try:
            rows = db.execute(
                "SELECT s.state FROM states s JOIN states_meta m ON s.metadata_id = m.metadata_id "
                "WHERE m.entity_id LIKE 'number.%countdown'"
            ).fetchall()
        except sqlite3.OperationalError:  # the recorder is still making its tables
            return set()
    return {int(float(state)) for (state,) in rows if state.replace(".", "", 1).isdigit()}


async def test_kill_9_mid_stream_and_restart(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "configuration.yaml").write_text(CONFIGURATION)
    port = free_port()
    develop.prepare(config, develop.hub_entry(port, [PLUG, PROBE]), free_port())
    process = _start(config)
    reporter = NumberedReporter("127.0.0.1", port, PLUG)
    try:
        await _serving(port, process)
        await reporter.start()
        sending = asyncio.ensure_future(reporter.send_paced(range(1, 101), every=0.05))
        # Killed once the recorder is writing (a first start spends a while making its
        # database, and holds the states meanwhile), with reports still coming.
        await until(lambda: max(_history(config), default=0) >= 20, 60)
        process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await asyncio.to_thread(process.wait, 30)
        connects = reporter.connects

        process = _start(config)
        await _serving(port, process)
        await until(lambda: reporter.connects > connects, 60)  # the device is back
        await sending
        await until(reporter.all_acknowledged, 60)
        await until(lambda: _stored_values(config).get("countdown") is not None, 60)
        await until(lambda: 100 in _history(config), 60)  # the recorder has caught up
    finally:
        reporter.stop()
        if process.poll() is None:
            process.terminate()  # a clean stop: the recorder writes what it holds
            await asyncio.to_thread(process.wait, 60)

    history = _history(config)
    acknowledged = reporter.acknowledged
    assert acknowledged == set(range(1, 101))
    last_moment = reporter.acknowledged_between(killed_at - LAST_MOMENT, killed_at)
    assert missing(acknowledged - last_moment, history) == []
    assert len(last_moment) <= LAST_MOMENT / 0.05 + 1
    # The hub's configuration came through both the kill and the restart.
    assert set(_stored_devices(config)) >= {PLUG.uuid, PROBE.uuid}


def _cache(config: Path) -> dict[str, object]:
    path = config / ".storage" / f"rlink.{develop.HUB_ENTRY_ID}.devices"
    return json.loads(path.read_text())["data"] if path.exists() else {}


def _stored_devices(config: Path) -> dict[str, object]:
    devices = _cache(config).get("devices")
    return devices if isinstance(devices, dict) else {}


def _stored_values(config: Path) -> dict[str, object]:
    plug = _stored_devices(config).get(PLUG.uuid)
    values = plug.get("values") if isinstance(plug, dict) else None
    return values if isinstance(values, dict) else {}

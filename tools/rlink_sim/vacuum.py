"""A robot vacuum's day: it cleans a floor plan cell by cell, returns, docks, charges, and
uploads a map of what it cleaned the way the protocol has it (upload credentials from
`sweeper_sts_token`, the file into the object store, then `sweeper_map_add` and
`sweeper_record_add`).

The map is data, not a picture: the `grid` format the integration renders (rows of cells,
the robot's path, the dock), as many vacuums keep theirs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp

from custom_components.rlink.protocol import sigv4
from custom_components.rlink.protocol.codes import DeviceEvent as Evt
from custom_components.rlink.protocol.messages import Message
from custom_components.rlink.protocol.sigv4 import Credentials

_LOGGER = logging.getLogger(__name__)

# The floor plan: '#' wall, '.' floor, ' ' outside the house; 'D' the dock (on the floor).
PLAN: Final = (
    "  ######################    ",
    "  #........#...........#    ",
    "  #........#...........#    ",
    "  #........#...........#####",
    "  #....................#...#",
    "  #........#...............#",
    "  ###.######...........#...#",
    "  #........#####.#######...#",
    "###........#...........#...#",
    "#..........#...........#####",
    "#..........................#",
    "#D.........#...........#...#",
    "############...........#...#",
    "           #################",
)
CELL_AREA: Final = 0.25
"""Square metres per cell (cells of 50 cm)."""
MAP_FORMAT: Final = "grid"

# Status values of the template (the labels live in its model).
STANDBY, CLEANING, PAUSED, RETURNING, CHARGING = 0, 1, 2, 3, 4


def _floor() -> list[tuple[int, int]]:
    """Every floor cell in the order a vacuum sweeps them: row by row, back and forth."""
    cells = []
    for y, row in enumerate(PLAN):
        xs = [x for x, c in enumerate(row) if c in ".D"]
        cells += [(x, y) for x in (xs if y % 2 == 0 else reversed(xs))]
    return cells


def _dock() -> tuple[int, int]:
    return next((x, y) for y, row in enumerate(PLAN) for x, c in enumerate(row) if c == "D")


def grid_map(cleaned: set[tuple[int, int]], path: list[tuple[int, int]]) -> dict[str, Any]:
    """The map file: '*' marks a cleaned floor cell."""
    rows = [
        "".join("*" if (x, y) in cleaned else ("." if c == "D" else c) for x, c in enumerate(row))
        for y, row in enumerate(PLAN)
    ]
    dock = _dock()
    return {
        "format": MAP_FORMAT,
        "width": len(PLAN[0]),
        "height": len(PLAN),
        "resolution": 0.5,
        "rows": rows,
        "path": [list(p) for p in path],
        "dock": list(dock),
        "robot": list(path[-1] if path else dock),
    }


class Cleaning:
    """One vacuum's cleaning runs; `seconds` is how long a whole run takes."""

    def __init__(
        self,
        device: Any,
        seconds: float,
        store_url: str | None,
        spawn: Callable[[Awaitable[Any]], None],
    ) -> None:
        self.device = device
        self.seconds = seconds
        self.store_url = store_url
        self.spawn = spawn
        self.floor = _floor()
        self._task: asyncio.Task[None] | None = None
        self.runs = 0
        self.maps: list[str] = []
        """The map ids the hub gave the uploaded maps."""

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def apply(self, changed: dict[str, Any]) -> None:
        """What the vacuum does when told to start, stop or go home."""
        if changed.get("power_go") in (1, True):
            self._restart(self._clean())
        elif changed.get("return_home") in (1, True):
            self._restart(self._go_home())
        elif "power_go" in changed:
            self._stop(STANDBY)

    def _restart(self, job: Any) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(job)
        self.spawn(self._task)

    def _stop(self, status: int) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._report(status=status, power_go=0)

    def _report(self, **values: Any) -> None:
        self.device.values.update(values)
        self.spawn(self.device.report(values))

    async def _clean(self) -> None:
        cells = self.floor
        tick = self.seconds / 40  # forty steps: status, battery and area move visibly
        per_tick = max(1, len(cells) // 36)
        cleaned: set[tuple[int, int]] = set()
        path: list[tuple[int, int]] = []
        self._report(status=CLEANING, power_go=1, return_home=0, clean_area=0, clean_time=0)
        started = asyncio.get_running_loop().time()
        for start in range(0, len(cells), per_tick):
            await asyncio.sleep(tick)
            step = cells[start : start + per_tick]
            cleaned.update(step)
            path += step
            battery = max(5, int(self.device.values.get("battery", 100)) - 2)
            minutes = int((asyncio.get_running_loop().time() - started) // 60)
            self._report(
                battery=battery, clean_area=round(len(cleaned) * CELL_AREA), clean_time=minutes
            )
        self.runs += 1
        self.spawn(self._upload(cleaned, path))
        await self._go_home(tick)

    async def _go_home(self, tick: float | None = None) -> None:
        tick = self.seconds / 40 if tick is None else tick
        self._report(status=RETURNING, power_go=0, return_home=1)
        await asyncio.sleep(tick * 3)
        self._report(status=CHARGING, return_home=0)
        while int(self.device.values.get("battery", 100)) < 100:
            await asyncio.sleep(tick)
            self._report(battery=min(100, int(self.device.values["battery"]) + 5))

    async def _upload(self, cleaned: set[tuple[int, int]], path: list[tuple[int, int]]) -> None:
        """Ask for upload credentials, store the map, then tell the hub where it is."""
        grant = await self.device.send(Evt.SWEEPER_STS_TOKEN, {"type": "map"})
        if not _granted(grant) or self.store_url is None:
            _LOGGER.info(
                "%s: no map storage granted; the map stays on the vacuum", self.device.uuid
            )
            return
        assert grant is not None
        directory = str(grant.data.get("authDir") or "")
        bucket = str(grant.data.get("bucketName") or "")
        key = f"{directory}map-{self.runs}.json"
        body = json.dumps(grid_map(cleaned, path)).encode()
        if not await _put(f"{self.store_url.rstrip('/')}/{bucket}/{key}", body, grant.data):
            return
        added = await self.device.send(
            Evt.SWEEPER_MAP_ADD,
            {
                "mapFormat": MAP_FORMAT,
                "mapName": f"Cleaning {self.runs}",
                "mapPath": key,
                "mapDesc": f"{round(len(cleaned) * CELL_AREA)} m²",
            },
        )
        if not _granted(added):
            return
        assert added is not None
        map_id = str(added.data.get("mapId") or "")
        self.maps.append(map_id)
        await self.device.send(
            Evt.SWEEPER_RECORD_ADD,
            {"mapId": map_id, "recordPath": key, "recordDesc": f"Run {self.runs}"},
        )


def _granted(reply: Message | None) -> bool:
    return reply is not None and not reply.res and isinstance(reply.data, dict)


async def _put(url: str, body: bytes, grant: dict[str, Any]) -> bool:
    """Upload to the object store as an S3 client does: signed (SigV4) with the granted key,
    and its session token when the grant is temporary."""
    credentials = Credentials(
        str(grant.get("accessKeyId") or ""),
        str(grant.get("secretAccessKey") or ""),
        str(grant.get("sessionToken") or ""),
    )
    headers = {"Content-Type": "application/json"}
    signed = sigv4.sign(
        "PUT",
        url,
        headers,
        body,
        credentials,
        region=str(grant.get("region") or "us-east-1"),
        service="s3",
        now=datetime.now(UTC),
    )
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.put(
                url,
                data=body,
                headers={**headers, **signed.headers},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as r,
        ):
            if r.status in (200, 201, 204):
                return True
            _LOGGER.info("map upload to %s refused: HTTP %d %s", url, r.status, await r.text())
    except (aiohttp.ClientError, TimeoutError) as err:
        _LOGGER.info("map upload to %s failed: %s", url, err)
    return False

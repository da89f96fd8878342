"""A vacuum's map file as a picture.

The protocol leaves the map's format to the device (`mapFormat`). A file that already is a
picture (PNG, JPEG) is shown as it is. The `grid` format is data and is drawn here:

    {"width": 28, "height": 14, "rows": ["  ####", "  #..#", ...],
     "path": [[x, y], ...], "dock": [x, y], "robot": [x, y]}

with one character per cell: ``#`` wall, ``.`` floor, ``*`` cleaned floor, anything else
outside the house. Drawing is CPU work: call `render` in an executor.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any, Final

from PIL import Image, ImageDraw

from .const import CONF_STORE_PUBLIC_URL

MAX_CELLS: Final = 1000
"""Cells per side at most; a larger grid is refused rather than drawn."""
TARGET_WIDTH: Final = 640

_CELL_COLOURS: Final[Mapping[str, tuple[int, int, int, int]]] = {
    "#": (70, 74, 82, 255),
    ".": (214, 220, 228, 255),
    "*": (120, 180, 240, 255),
}
_PATH: Final = (30, 90, 200, 255)
_DOCK: Final = (40, 170, 80, 255)
_ROBOT: Final = (250, 250, 250, 255)
_MAGIC: Final = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class MapUnreadable(ValueError):
    """The file is in no format Home Assistant can show."""


def map_link(settings: Mapping[str, Any], entry: Mapping[str, Any]) -> str | None:
    """Where a map the vacuum uploaded can be fetched: its own link, or its path under the
    object store's public address from the device's settings."""
    path = str(entry.get("mapPath") or "")
    if path.startswith(("http://", "https://")):
        return path
    base = settings.get(CONF_STORE_PUBLIC_URL)
    return f"{str(base).rstrip('/')}/{path.lstrip('/')}" if base and path else None


def picture_type(body: bytes) -> str | None:
    """The content type of a file that is already a picture."""
    return next((kind for magic, kind in _MAGIC.items() if body.startswith(magic)), None)


def _point(raw: Any, width: int, height: int) -> tuple[int, int] | None:
    if (
        isinstance(raw, list)
        and len(raw) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in raw)
        and 0 <= raw[0] < width
        and 0 <= raw[1] < height
    ):
        return raw[0], raw[1]
    return None


def _grid(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as err:
        raise MapUnreadable(f"not JSON: {err}") from err
    if not isinstance(data, dict):
        raise MapUnreadable("not a JSON object")
    rows = data.get("rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, str) for r in rows):
        raise MapUnreadable("no rows")
    width = max(len(r) for r in rows)
    if width == 0 or width > MAX_CELLS or len(rows) > MAX_CELLS:
        raise MapUnreadable(f"a grid of {width} by {len(rows)} cells")
    return {**data, "rows": rows, "width": width, "height": len(rows)}


def render_grid(body: bytes) -> bytes:
    """The `grid` map as a PNG."""
    data = _grid(body)
    width, height, rows = data["width"], data["height"], data["rows"]
    cell = max(2, min(24, TARGET_WIDTH // width))
    image = Image.new("RGBA", (width * cell, height * cell), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(rows):
        for x, char in enumerate(row):
            if (colour := _CELL_COLOURS.get(char)) is not None:
                draw.rectangle(
                    (x * cell, y * cell, (x + 1) * cell - 1, (y + 1) * cell - 1), fill=colour
                )

    def centre(point: tuple[int, int]) -> tuple[int, int]:
        return point[0] * cell + cell // 2, point[1] * cell + cell // 2

    raw_path = data.get("path")
    path = [
        centre(p)
        for p in (
            _point(r, width, height) for r in (raw_path if isinstance(raw_path, list) else [])
        )
        if p is not None
    ]
    if len(path) > 1:
        draw.line(path, fill=_PATH, width=max(1, cell // 4))
    radius = max(2, cell // 2)
    for key, colour in (("dock", _DOCK), ("robot", _ROBOT)):
        if (point := _point(data.get(key), width, height)) is not None:
            cx, cy = centre(point)
            draw.ellipse(
                (cx - radius, cy - radius, cx + radius, cy + radius), fill=colour, outline=_PATH
            )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# mapFormat -> renderer of data formats.
RENDERERS: Final = {"grid": render_grid}


def render(map_format: str | None, body: bytes) -> tuple[bytes, str]:
    """The picture to show for a map file, and its content type."""
    if (kind := picture_type(body)) is not None:
        return body, kind
    renderer = RENDERERS.get((map_format or "").lower())
    if renderer is None:
        raise MapUnreadable(f"the map format {map_format!r} is not one Home Assistant can draw")
    return renderer(body), "image/png"

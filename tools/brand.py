"""Draws the integration's brand images into custom_components/rlink/brand/.

Home Assistant (2026.3 and newer) serves a custom integration's own ``brand/`` images before
asking its brands service, and HACS looks for ``brand/icon.png``. Sizes follow the brands
repository's rules: icons square, 256 px and 512 px (@2x); logos landscape with the
shortest side 128 px and 256 px (@2x); dark variants for dark themes.

``python -m tools.brand`` writes them again (they are committed; run it after a change here).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).resolve().parents[1] / "custom_components" / "rlink" / "brand"
TEAL = (11, 126, 140, 255)
WHITE = (255, 255, 255, 255)
INK = (28, 43, 51, 255)
SUPERSAMPLE = 4  # drawn large, then scaled down: smooth edges without anti-aliasing calls


def mark(
    size: int, tile: tuple[int, int, int, int], glyph: tuple[int, int, int, int]
) -> Image.Image:
    """The icon: a rounded tile with a device dot sending waves."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=tile)
    unit = big / 16
    cx, cy = 4.6 * unit, 11.4 * unit  # the device, lower left
    dot = 1.6 * unit
    draw.ellipse((cx - dot, cy - dot, cx + dot, cy + dot), fill=glyph)
    width = round(1.45 * unit)
    for radius in (4.4, 7.0, 9.6):
        r = radius * unit
        draw.arc((cx - r, cy - r, cx + r, cy + r), start=270, end=360, fill=glyph, width=width)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def logo(height: int, text: tuple[int, int, int, int]) -> Image.Image:
    """The logo: the icon and the name beside it, trimmed to what is drawn."""
    icon = mark(height, TEAL, WHITE)
    font = ImageFont.load_default(size=round(height * 0.78))
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), "rlink", font=font)
    gap = height // 5
    image = Image.new("RGBA", (height + gap + (right - left), height), (0, 0, 0, 0))
    image.paste(icon, (0, 0), icon)
    draw = ImageDraw.Draw(image)
    draw.text(
        (height + gap - left, (height - (bottom - top)) // 2 - top), "rlink", font=font, fill=text
    )
    return image.crop(image.getbbox())


def main() -> None:
    BRAND.mkdir(exist_ok=True)
    images = {
        "icon.png": mark(256, TEAL, WHITE),
        "icon@2x.png": mark(512, TEAL, WHITE),
        "logo.png": logo(128, INK),
        "logo@2x.png": logo(256, INK),
        "dark_logo.png": logo(128, WHITE),
        "dark_logo@2x.png": logo(256, WHITE),
    }
    for name, image in images.items():
        image.save(BRAND / name, optimize=True)


if __name__ == "__main__":
    main()

"""What a homeowner sees: the development house (scripts/develop) in a real Chromium.

One run of the house, onboarded through Home Assistant's API; then, in the page: every rlink
page renders translated, the plug and the light switch, the doorbell streams, the vacuum
cleans and its map loads, a firmware update shows its progress, the config flow's forms are
labelled and say what is wrong in words, a lock's settings set from its entry open it, and
the same pages speak Chinese in zh-Hans. Home Assistant logs no error of rlink's meanwhile.
A failing step leaves a screenshot in the test's temporary folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest

from .browser import (
    DEEP_TEXT,
    RAW_KEY,
    House,
    api,
    chromium,
    development_house,
    login_script,
    onboard,
    state,
    until_state,
)

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM: Final = chromium()
pytestmark = [
    pytest.mark.usefixtures("sockets"),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (scripts/setup)"),
]

CLEAN_SECONDS: Final = "20"
STATE_SECONDS: Final = 2.0
"""How soon a switch in the page follows a click (the issue's bar)."""
VIDEO_SECONDS: Final = 15.0
SCREENSHOTS: Final = os.environ.get("RLINK_SCREENSHOTS")
"""A folder to save the README's pictures to (scripts/screenshots sets it)."""
README_SHOTS: Final = frozenset({"camera", "vacuum-map", "firmware"})
PLUG_POWER: Final = "switch.kitchen_plug_power"
LIGHT: Final = "light.desk_light"
CAMERA: Final = "camera.doorbell"
VACUUM: Final = "vacuum.robot_vacuum"
MAP: Final = "image.robot_vacuum_map"
PLUG_FIRMWARE: Final = "update.kitchen_plug_firmware"
FRONT_DOOR: Final = "lock.front_door"
FIND_VIDEO: Final = """() => {
  const find = (node) => {
    if (!node) return null;
    if (node.tagName === 'VIDEO') return node;
    for (const child of [...(node.shadowRoot ? [node.shadowRoot] : []), ...node.childNodes]) {
      const found = find(child); if (found) return found;
    }
    return null;
  };
  const video = find(document.body);
  return video ? video.currentTime : -1;
}"""
FIND_IMAGE: Final = """(src) => {
  const find = (node) => {
    if (!node) return null;
    if (node.tagName === 'IMG' && node.src.includes(src)) return node;
    for (const child of [...(node.shadowRoot ? [node.shadowRoot] : []), ...node.childNodes]) {
      const found = find(child); if (found) return found;
    }
    return null;
  };
  const img = find(document.body);
  return img && img.complete ? img.naturalWidth : 0;
}"""
CHINESE: Final = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(name="house")
async def fixture_house(tmp_path: Path) -> AsyncIterator[House]:
    async with development_house(tmp_path, "--clean-seconds", CLEAN_SECONDS) as house:
        await onboard(house)
        yield house


class Browser:
    """One Chromium page logged in to the house, with a screenshot when a step fails."""

    def __init__(self, house: House, page: Any, shots: Path) -> None:
        self.house, self.page, self.shots = house, page, shots
        self.failed_images: list[str] = []
        page.on(
            "response",
            lambda r: (
                self.failed_images.append(f"{r.status} {r.url}")
                if "/api/image_proxy/" in r.url and r.status != 200
                else None
            ),
        )

    async def open(self, path: str) -> str:
        """Go to `path` and wait until the frontend has drawn it; its text."""
        await self.page.goto(f"{self.house.url}{path}")
        await self.page.wait_for_function(
            "() => document.querySelector('home-assistant')?.hass?.states"
        )
        await self.page.wait_for_load_state("networkidle")
        return str(await self.page.evaluate(DEEP_TEXT))

    async def text(self) -> str:
        return str(await self.page.evaluate(DEEP_TEXT))

    async def until_text(self, pattern: str, seconds: float = 10) -> str:
        await self.page.wait_for_function(
            f"() => ({DEEP_TEXT})().includes({pattern!r})", timeout=seconds * 1000
        )
        return await self.text()

    async def more_info(self, entity_id: str) -> None:
        await self.page.evaluate(
            """(entityId) => document.querySelector('home-assistant').dispatchEvent(
                 new CustomEvent('hass-more-info',
                   {detail: {entityId}, bubbles: true, composed: true}))""",
            entity_id,
        )
        await self.page.locator("ha-more-info-dialog more-info-content").wait_for()

    async def close_dialog(self) -> None:
        await self.page.keyboard.press("Escape")
        await self.page.locator("ha-more-info-dialog more-info-content").wait_for(state="hidden")

    async def until_state(self, entity_id: str, expected: str, seconds: float) -> None:
        """The page's own view of the state (what the user sees), within `seconds`."""
        await self.page.wait_for_function(
            """([id, expected]) =>
                 document.querySelector('home-assistant').hass.states[id]?.state === expected""",
            arg=[entity_id, expected],
            timeout=seconds * 1000,
        )

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=self.shots / f"{name}.png")
        if SCREENSHOTS and name in README_SHOTS:
            await self.page.screenshot(path=Path(SCREENSHOTS) / f"{name}.png")


def assert_translated(text: str, where: str) -> None:
    raw = RAW_KEY.findall(text)
    assert not raw, f"{where} shows untranslated keys: {raw[:5]}"


async def _rlink_devices(house: House) -> list[str]:
    entries = await api(house, "GET", "/api/config/config_entries/entry?domain=rlink")
    assert entries, "the development house has no rlink entry"
    return [str(e["entry_id"]) for e in entries]


async def check_pages(browser: Browser, *, language: str) -> None:
    """The overview and every rlink device page, with no raw translation key."""
    text = await browser.open("/")
    assert_translated(text, "the overview")
    entries = set(await _rlink_devices(browser.house))
    devices = await browser.page.evaluate(
        """(entries) => Object.values(document.querySelector('home-assistant').hass.devices)
             .filter((d) => d.config_entries.some((e) => entries.includes(e)))
             .map((d) => [d.id, d.name_by_user || d.name])""",
        sorted(entries),
    )
    assert len(devices) >= 9, devices  # seven devices and the gateway's two
    for device_id, name in devices:
        text = await browser.open(f"/config/devices/device/{device_id}")
        text = await browser.until_text(name)
        assert_translated(text, f"the page of {name}")
        if language == "zh-Hans":
            # Names of rlink's own entities and sensors in Chinese (固件 = firmware).
            assert "固件" in text, f"the page of {name} shows no Chinese rlink string"


async def toggle(browser: Browser, entity_id: str, control: str) -> None:
    """Switch from the more-info dialog; the page shows the new state within 2 s."""
    before = (await state(browser.house, entity_id))["state"]
    await browser.more_info(entity_id)
    await browser.page.locator(f"ha-more-info-dialog {control}").first.click()
    await browser.until_state(entity_id, "on" if before == "off" else "off", STATE_SECONDS)
    await browser.close_dialog()


async def check_switches(browser: Browser) -> None:
    await browser.open("/")
    await toggle(browser, PLUG_POWER, "ha-state-control-toggle ha-control-switch")
    await toggle(browser, PLUG_POWER, "ha-state-control-toggle ha-control-switch")
    await toggle(browser, LIGHT, "ha-icon-button-group ha-icon-button")
    await toggle(browser, LIGHT, "ha-icon-button-group ha-icon-button")


async def check_camera(browser: Browser) -> None:
    """The doorbell's live view plays: the video's clock moves."""
    await browser.open("/")
    await browser.more_info(CAMERA)
    await browser.page.wait_for_function(
        f"() => ({FIND_VIDEO})() > 1", timeout=VIDEO_SECONDS * 1000
    )
    await browser.shot("camera")
    await browser.close_dialog()
    # The still image: the photo of the doorbell's last alarm.
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{browser.house.url}/api/camera_proxy/{CAMERA}", headers=browser.house.headers()
        ) as still,
    ):
        assert still.status == 200
        assert still.content_type == "image/jpeg"


async def check_vacuum(browser: Browser) -> None:
    """Start cleaning; once docked again the map is a picture that loads."""
    await api(browser.house, "POST", "/api/services/vacuum/start", {"entity_id": VACUUM})
    await until_state(browser.house, VACUUM, lambda s: s["state"] == "cleaning", 15)
    await until_state(browser.house, MAP, lambda s: s["state"] != "unavailable", 90)
    await until_state(browser.house, VACUUM, lambda s: s["state"] == "docked", 60)
    await browser.open("/")
    await browser.more_info(MAP)
    await browser.page.wait_for_function(
        f"() => ({FIND_IMAGE})('/api/image_proxy/{MAP}') > 0", timeout=15000
    )
    assert not browser.failed_images, browser.failed_images
    await browser.shot("vacuum-map")
    await browser.close_dialog()


async def check_firmware(browser: Browser) -> None:
    """A file dropped in the firmware folder is offered; installing shows progress and ends
    on the new version."""
    folder = browser.house.config / "rlink" / "firmware" / "simplug01"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plug_v1.1.0.bin").write_bytes(b"\x7fELF rlink firmware " * 20_000)
    await until_state(browser.house, PLUG_FIRMWARE, lambda s: s["state"] == "on", 30)
    await browser.open("/")
    await browser.more_info(PLUG_FIRMWARE)
    await browser.page.locator("more-info-update ha-button", has_text="Update").click()
    await browser.page.locator("more-info-update ha-progress-bar").wait_for(timeout=15000)
    # "Installing (40%)": a share above nothing, so the progress is the device's.
    await browser.page.wait_for_function(
        f"() => /\\(([1-9][0-9]?)%\\)/.test(({DEEP_TEXT})())", timeout=15000
    )
    await browser.shot("firmware")
    await until_state(
        browser.house,
        PLUG_FIRMWARE,
        lambda s: s["attributes"].get("installed_version") == "1.1.0" and s["state"] == "off",
        90,
    )
    await browser.until_text("1.1.0")
    await browser.close_dialog()


# The form's boxes: the port is its first number box, the app secret its first text box.
PORT_BOX: Final = "step-flow-form ha-selector-number input"
SECRET_BOX: Final = "step-flow-form ha-selector-text input"


async def _flow_step(browser: Browser, option: str) -> None:
    await browser.page.locator("step-flow-menu ha-list-item", has_text=option).click()


async def _submit_port(browser: Browser, value: str) -> str:
    await browser.page.locator(PORT_BOX).first.fill(value)
    await browser.page.get_by_role("button", name="Submit").click()
    return await browser.until_text("1 to 65535")


async def check_config_flows(browser: Browser) -> None:
    """The hub, external broker and cloud forms: labels, and a port that is no port gets a
    sentence, not a schema message; the cloud form keeps the secret typed."""
    cloud = {"user_id": "someone", "host": "127.0.0.1", "rest_url": "http://127.0.0.1:1"}
    for path, labels, required in (
        (["Local hub", "rlink device server"], ["Port", "Listen address"], {}),
        (["Local hub", "External broker"], ["Host", "Port", "Username"], {"host": "127.0.0.1"}),
        (["Cloud account"], ["User ID", "App secret", "Broker port"], cloud),
    ):
        await browser.open("/config/integrations/dashboard")
        await browser.page.goto(f"{browser.house.url}/_my_redirect/config_flow_start?domain=rlink")
        await browser.page.get_by_role("button", name="OK").click()  # "Set up rlink?"
        await browser.page.locator("step-flow-menu").wait_for()
        for option in path:
            await _flow_step(browser, option)
        await browser.page.locator(PORT_BOX).first.wait_for()
        text = await browser.text()
        for label in labels:
            assert label in text, f"{path}: no label {label!r}"
        for name, value in required.items():
            await browser.page.locator(f"step-flow-form input[name={name}]").fill(value)
        if path == ["Cloud account"]:
            await browser.page.locator(SECRET_BOX).first.fill("typed-secret")
        text = await _submit_port(browser, "99999")
        assert "Enter a port number from 1 to 65535." in text
        assert "too large" not in text
        assert_translated(text, f"the form {path}")
        if path == ["Cloud account"]:
            assert await browser.page.locator(SECRET_BOX).first.input_value() == "typed-secret"
        await browser.page.keyboard.press("Escape")


async def check_device_settings(browser: Browser) -> None:
    """A device's settings from the gear of its entry: the choice of what to change, the
    form with its labels, the lock's own step; then the lock opens with what was typed."""
    await browser.open("/config/integrations/integration/rlink")
    row = browser.page.locator("ha-config-sub-entry-row").filter(has_text="Front door").first
    await row.get_by_role("button", name="Configure").first.click()
    await browser.page.locator("step-flow-menu").wait_for()
    assert "Secret and name" in await browser.text()
    await _flow_step(browser, "Device settings")
    await browser.until_text("Settings for Front door")
    # The code editor of the remote configuration draws its label once it has loaded.
    for label in ("Remote configuration", "Device log upload", "Time zone", "Property roles"):
        text = await browser.until_text(label)
    assert_translated(text, "the device settings")
    await browser.page.get_by_role("button", name="Submit").click()
    text = await browser.until_text("Remote unlock")
    assert_translated(text, "the lock's step")
    boxes = browser.page.locator("step-flow-form input")
    await boxes.nth(0).fill("901")
    await boxes.nth(1).fill("70f05e98")
    await browser.page.get_by_role("button", name="Submit").click()
    await browser.until_text("Reconfiguration was successful")
    await browser.page.keyboard.press("Escape")
    await api(browser.house, "POST", "/api/services/lock/unlock", {"entity_id": FRONT_DOOR})
    await until_state(browser.house, FRONT_DOOR, lambda s: s["state"] == "unlocked", 15)


@pytest.mark.timeout(300)
async def test_the_development_house_in_chromium(house: House, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    async with playwright_api.async_playwright() as playwright:
        chromium_browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--autoplay-policy=no-user-gesture-required",
                # Host candidates as addresses, so the simulated camera can answer them.
                "--disable-features=WebRtcHideLocalIpsWithMdns",
            ],
        )
        try:
            for language in ("en", "zh-Hans"):
                context = await chromium_browser.new_context(
                    viewport={"width": 1280, "height": 800}, locale=language
                )
                await context.add_init_script(login_script(house, language))
                browser = Browser(house, await context.new_page(), shots)
                step = "start"
                try:
                    if language == "en":
                        for step, check in (  # noqa: B007 - named for the screenshot
                            ("switches", check_switches),
                            ("camera", check_camera),
                            ("firmware", check_firmware),
                            ("vacuum", check_vacuum),
                            ("config-flows", check_config_flows),
                            ("device-settings", check_device_settings),
                        ):
                            await check(browser)
                    step = f"pages-{language}"
                    await check_pages(browser, language=language)
                    if language == "en":
                        await browser.open("/")
                        await browser.shot("overview")
                except Exception:
                    await browser.page.screenshot(path=shots / f"failed-{step}.png")
                    raise
                finally:
                    await context.close()
        finally:
            await chromium_browser.close()
    errors = [line for line in house.ha_log().splitlines() if " ERROR " in line and "rlink" in line]
    assert not errors, errors

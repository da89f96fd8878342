"""What a homeowner sees: the development house (scripts/develop) in a real Chromium.

One run of the house, onboarded through Home Assistant's API; then, in the page: every rlink
page renders translated, the plug and the light switch, the doorbell streams, the vacuum
cleans and its map loads, a firmware update shows its progress, the front door opens and
locks itself again, the config flow's forms and the add-device form are labelled and say
what is wrong in words, a device added through that form appears, a lock's settings set
from its entry open it, and the same pages and forms speak Chinese in zh-Hans. Home
Assistant logs no error of rlink's meanwhile. A failing step leaves a screenshot in the
test's temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest

from tools.develop import FRONT_DOOR_UNLOCK
from tools.rlink_sim import DeviceConfig, Simulator, make_secret, make_uuid

from .browser import (
    DEEP_TEXT,
    RAW_KEY,
    House,
    api,
    chromium,
    development_house,
    frontend_word,
    login_script,
    onboard,
    rlink_strings,
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
MORE_INFO_ATTEMPTS: Final = 3
"""A frontend still settling after a load may drop a request for a dialog; it is asked again."""
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
NEW_PLUG: Final = DeviceConfig(
    make_uuid("browser/garage plug"), make_secret("browser/garage plug"), name="Garage plug"
)
NEW_PLUG_POWER: Final = "switch.garage_plug_power"
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

    async def navigate(self, path: str) -> None:
        """Go to `path` inside the frontend already loaded, as its own links do (no reload)."""
        await self.page.evaluate(
            """(path) => {
                 history.pushState(null, '', path);
                 window.dispatchEvent(new CustomEvent('location-changed', {detail: {}}));
               }""",
            path,
        )

    async def text(self) -> str:
        return str(await self.page.evaluate(DEEP_TEXT))

    async def until_text(self, pattern: str, seconds: float = 10) -> str:
        await self.page.wait_for_function(
            f"() => ({DEEP_TEXT})().includes({pattern!r})", timeout=seconds * 1000
        )
        return await self.text()

    async def more_info(self, entity_id: str) -> None:
        dialog = self.page.locator("ha-more-info-dialog more-info-content")
        for attempt in range(MORE_INFO_ATTEMPTS):
            await self.page.evaluate(
                """(entityId) => document.querySelector('home-assistant').dispatchEvent(
                     new CustomEvent('hass-more-info',
                       {detail: {entityId}, bubbles: true, composed: true}))""",
                entity_id,
            )
            try:
                await dialog.wait_for(timeout=10000)
            except playwright_api.TimeoutError:
                if attempt == MORE_INFO_ATTEMPTS - 1:
                    raise
                continue
            return

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
    assert len(devices) >= 9, devices  # seven devices and the gateway's two (and any added)
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


async def check_lock(browser: Browser, language: str) -> None:
    """The front door locks itself: "Open door" opens it and it locks again on its own;
    "Lock", as the lock's controls send it, is refused in the user's language."""
    await browser.navigate("/")
    if language == "en":
        await browser.more_info(FRONT_DOOR)
        open_door = browser.page.locator("more-info-lock .open-button")
        await open_door.click()  # "Open door", then "Really open?"
        await open_door.click()
        await browser.until_state(FRONT_DOOR, "unlocked", 10)
        await browser.until_state(FRONT_DOOR, "locked", 15)  # five seconds later, by itself
        await browser.close_dialog()
    refused = await browser.page.evaluate(
        """(entityId) => document.querySelector('home-assistant').hass
             .callService('lock', 'lock', {entity_id: entityId})
             .then(() => 'locked', (err) => err.translation_key || String(err.message))""",
        FRONT_DOOR,
    )
    assert refused == "lock_locks_itself"
    message = rlink_strings(language)["exceptions"]["lock_locks_itself"]["message"]
    await browser.until_text(message.format(device="Front door"))  # the frontend's toast


# What the frontend was sent for the flow form on screen: its step and field names.
FLOW_FORM: Final = """() => {
  const find = (node) => {
    if (!node) return null;
    if (node.tagName === 'STEP-FLOW-FORM') return node;
    for (const child of [...(node.shadowRoot ? [node.shadowRoot] : []), ...node.childNodes]) {
      const found = find(child); if (found) return found;
    }
    return null;
  };
  const form = find(document.body);
  if (!form || !form.step || form.step.type !== 'form') return null;
  return [form.step.step_id, (form.step.data_schema || []).map((field) => field.name)];
}"""
# The form's boxes: the port is its first number box, the app secret its first text box.
PORT_BOX: Final = "step-flow-form ha-selector-number input"
SECRET_BOX: Final = "step-flow-form ha-selector-text input"


async def flow_form(browser: Browser) -> tuple[str, list[str]]:
    """The flow form on screen once it is drawn: its step and its fields."""
    await browser.page.wait_for_function(f"() => ({FLOW_FORM})() !== null")
    step_id, fields = await browser.page.evaluate(FLOW_FORM)
    return str(step_id), [str(f) for f in fields]


async def close_flow(browser: Browser, language: str) -> None:
    """Close the flow's dialog with its close button (Escape stays in a focused box)."""
    dialog = browser.page.locator("dialog-data-entry-flow")
    close = frontend_word(language, "ui.common.close")
    await dialog.get_by_role("button", name=close, exact=True).first.click()
    await dialog.locator("ha-dialog").first.wait_for(state="hidden")


async def assert_form_speaks(
    browser: Browser, step: dict[str, Any], english: dict[str, Any], fields: list[str], where: str
) -> str:
    """Every field of the form has its label and description in the page's language: no
    field name in their place, and no English where the language has its own words. The
    page's text, once the form shows them (descriptions are drawn after the labels)."""
    labels = step.get("data", {})
    # Descriptions with placeholders are filled in by the flow: not compared word for word.
    descriptions = {
        field: text
        for field, text in step.get("data_description", {}).items()
        if field in fields and "{" not in text
    }
    assert fields, f"{where}: a form without fields"
    expected = [labels.get(field) or field for field in fields] + list(descriptions.values())
    with contextlib.suppress(playwright_api.TimeoutError):  # the asserts below say what is missing
        await browser.page.wait_for_function(
            f"(expected) => {{ const text = ({DEEP_TEXT})(); "
            "return expected.every((words) => text.includes(words)); }",
            arg=expected,
            timeout=10000,
        )
    text = await browser.text()
    for field in fields:
        label = labels.get(field)
        assert label, f"{where}: {field!r} has no label in the translation"
        assert label in text, f"{where}: the label of {field!r} ({label!r}) is not shown"
        if field in descriptions:
            assert descriptions[field] in text, f"{where}: the description of {field!r} is missing"
        if "_" in field:
            assert field not in text, f"{where}: the field name {field!r} is shown"
        english_label = english.get("data", {}).get(field)
        if english_label and english_label != label:
            assert english_label not in text, f"{where}: {english_label!r} is shown in English"
    assert_translated(text, where)
    return text


# The config flow's paths through its menus (the last option is the form's step), and what
# that form needs filled in before it checks the port.
CONFIG_FLOWS: Final = (
    (("local_hub", "embedded"), {}),
    (("local_hub", "external"), {"host": "127.0.0.1"}),
    (
        ("cloud_account",),
        {"user_id": "someone", "host": "127.0.0.1", "rest_url": "http://127.0.0.1:1"},
    ),
)


async def check_config_flows(browser: Browser, language: str) -> None:
    """The hub, external broker and cloud forms in the user's language: labels and
    descriptions, and a port that is no port gets a sentence, not a schema message; the
    cloud form keeps the secret typed."""
    config, english = rlink_strings(language)["config"], rlink_strings("en")["config"]
    ok, submit = (frontend_word(language, f"ui.common.{word}") for word in ("ok", "submit"))
    await browser.navigate("/config/integrations/dashboard")
    for path, required in CONFIG_FLOWS:
        await browser.navigate("/_my_redirect/config_flow_start?domain=rlink")
        await browser.page.get_by_role("button", name=ok).click()  # "Set up rlink?"
        menu = "user"
        for option in path:
            choice = config["step"][menu]["menu_options"][option]
            await browser.page.locator("step-flow-menu ha-list-item", has_text=choice).click()
            menu = option
        step_id, fields = await flow_form(browser)
        assert step_id == path[-1]
        where = f"the form {path} in {language}"
        await assert_form_speaks(
            browser, config["step"][step_id], english["step"][step_id], fields, where
        )
        for name, value in required.items():
            await browser.page.locator(f"step-flow-form input[name={name}]").fill(value)
        cloud = step_id == "cloud_account"
        if cloud:
            await browser.page.locator(SECRET_BOX).first.fill("typed-secret")
        await browser.page.locator(PORT_BOX).first.fill("99999")
        await browser.page.get_by_role("button", name=submit).click()
        text = await browser.until_text(config["error"]["invalid_port"])
        assert "too large" not in text
        assert_translated(text, where)
        if cloud:
            assert await browser.page.locator(SECRET_BOX).first.input_value() == "typed-secret"
        await close_flow(browser, language)


async def check_add_device(browser: Browser, language: str, *, add: bool) -> None:
    """The hub's "Add device" form in the user's language, a uuid that is none refused in
    words; with `add`, a device added through it appears and comes alive when it connects."""
    device = rlink_strings(language)["config_subentries"]["device"]
    english = rlink_strings("en")["config_subentries"]["device"]["step"]["user"]
    submit = frontend_word(language, "ui.common.submit")
    await browser.navigate("/config/integrations/integration/rlink")
    await browser.page.get_by_role("button", name=device["initiate_flow"]["user"]).click()
    step_id, fields = await flow_form(browser)
    assert step_id == "user"
    where = f"the add-device form in {language}"
    text = await assert_form_speaks(browser, device["step"]["user"], english, fields, where)
    assert device["step"]["user"]["title"] in text
    form = browser.page.locator("step-flow-form")
    await form.locator("input[name=uuid]").fill("rn01-not-a-uuid")
    await form.locator("input[name=secret]").fill(NEW_PLUG.secret)
    await browser.page.get_by_role("button", name=submit).click()
    await browser.until_text(device["error"]["invalid_uuid"])
    if not add:
        await close_flow(browser, language)
        return
    await form.locator("input[name=uuid]").fill(NEW_PLUG.uuid)
    await form.locator("input[name=secret]").fill(NEW_PLUG.secret)  # a password box is emptied
    await form.locator("input[name=pid]").fill(NEW_PLUG.product_id)
    await form.locator("input[name=name]").fill("Garage plug")
    await browser.page.get_by_role("button", name=submit).click()
    await browser.page.wait_for_function(
        """() => Object.values(document.querySelector('home-assistant').hass.devices)
             .some((d) => d.name === 'Garage plug')"""
    )
    await close_flow(browser, language)
    async with Simulator("127.0.0.1", browser.house.broker_port, [NEW_PLUG]):
        await browser.until_state(NEW_PLUG_POWER, "off", 15)


async def check_overview(browser: Browser) -> None:
    await browser.open("/")
    await browser.shot("overview")


def checks(language: str) -> list[tuple[str, Callable[[Browser], Awaitable[None]]]]:
    """The steps in one language: the house's devices in English; the lock, the forms and
    every page in both (in English once the device added through the form is there)."""
    forms: list[tuple[str, Callable[[Browser], Awaitable[None]]]] = [
        (f"lock-{language}", partial(check_lock, language=language)),
        (f"config-flows-{language}", partial(check_config_flows, language=language)),
        (
            f"add-device-{language}",
            partial(check_add_device, language=language, add=language == "en"),
        ),
    ]
    pages = [(f"pages-{language}", partial(check_pages, language=language))]
    if language != "en":
        return pages + forms  # the pages load the frontend the forms then work in
    devices = [
        ("switches", check_switches),
        ("camera", check_camera),
        ("firmware", check_firmware),
        ("vacuum", check_vacuum),
    ]
    settings = [("device-settings", check_device_settings)]
    return [*devices, *forms, *settings, *pages, ("overview", check_overview)]


async def check_device_settings(browser: Browser) -> None:
    """A device's settings from the gear of its entry: the choice of what to change, the
    form with its labels, the lock's own step; then the lock opens with what was typed."""
    await browser.open("/config/integrations/integration/rlink")
    row = browser.page.locator("ha-config-sub-entry-row").filter(has_text="Front door").first
    await row.get_by_role("button", name="Configure").first.click()
    await browser.page.locator("step-flow-menu").wait_for()
    assert "Secret and name" in await browser.text()
    await browser.page.locator("step-flow-menu ha-list-item", has_text="Device settings").click()
    await browser.until_text("Settings for Front door")
    # The code editor of the remote configuration draws its label once it has loaded.
    for label in ("Remote configuration", "Device log upload", "Time zone", "Property roles"):
        text = await browser.until_text(label)
    assert_translated(text, "the device settings")
    await browser.page.get_by_role("button", name="Submit").click()
    text = await browser.until_text("Remote unlock")
    assert_translated(text, "the lock's step")
    boxes = browser.page.locator("step-flow-form input")
    index, password = FRONT_DOOR_UNLOCK  # what the simulated lock accepts
    await boxes.nth(0).fill(str(index))
    await boxes.nth(1).fill(password)
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
                    for step, check in checks(language):  # noqa: B007 - named for the screenshot
                        await check(browser)
                except Exception:
                    await browser.page.screenshot(path=shots / f"failed-{step}.png")
                    raise
                finally:
                    await context.close()
        finally:
            await chromium_browser.close()
    log = [line for line in house.ha_log().splitlines() if "rlink" in line]
    errors = [line for line in log if " ERROR " in line]
    assert not errors, errors
    # Nor a warning that something of rlink's stops working in a later release.
    going = [line for line in log if "stop working" in line]
    assert not going, going

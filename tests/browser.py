"""Helpers of the browser tests: the development house in a process of its own, Home
Assistant's onboarding through its API, and reading pages through their shadow roots."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp

REPO: Final = Path(__file__).resolve().parents[1]
TRANSLATIONS: Final = REPO / "custom_components" / "rlink" / "translations"
CHROMIUM_PATHS: Final = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
USER: Final = {"name": "Homeowner", "username": "homeowner", "password": "a-long-passphrase"}
_OPEN_LINE: Final = re.compile(r"Open (http://127\.0\.0\.1:\d+)")

# Every piece of text of the page, shadow roots included (the frontend lives in them).
DEEP_TEXT: Final = """() => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { out.push(node.textContent); return; }
    const kind = node.nodeType;
    if (kind !== Node.ELEMENT_NODE && kind !== Node.DOCUMENT_FRAGMENT_NODE) return;
    if (node.nodeName === 'STYLE' || node.nodeName === 'SCRIPT') return;
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(document.body);
  return out.join(' ').replace(/\\s+/g, ' ');
}"""
# A translation the frontend did not find shows as its key.
RAW_KEY: Final = re.compile(
    r"\b(component\.rlink\.\S+|ui\.(panel|card|dialogs|common|components)\.\S+)|\[%key:"
)


def chromium() -> str | None:
    return next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None) or shutil.which(
        "chromium"
    )


@dataclass
class House:
    """A running development instance."""

    url: str
    config: Path
    log: Path
    token: str = ""
    refresh_token: str = ""

    @property
    def client_id(self) -> str:
        return f"{self.url}/"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def ha_log(self) -> str:
        path = self.config / "home-assistant.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def broker_port(self) -> int:
        """The port of the hub's device server (scripts/develop keeps it in config/)."""
        return int(json.loads((self.config / ".rlink-develop-ports.json").read_text())["broker"])


def rlink_strings(language: str) -> dict[str, Any]:
    """rlink's strings in `language`, as Home Assistant serves them to the frontend."""
    strings: dict[str, Any] = json.loads((TRANSLATIONS / f"{language}.json").read_text())
    return strings


def frontend_word(language: str, key: str) -> str:
    """A word of Home Assistant's own frontend in `language` (the buttons of its dialogs)."""
    import hass_frontend  # noqa: PLC0415 - installed with Home Assistant's frontend

    folder = hass_frontend.where() / "static" / "translations"
    (path,) = (p for p in folder.iterdir() if re.fullmatch(rf"{language}-[0-9a-f]+\.json", p.name))
    return str(json.loads(path.read_text())[key])


@asynccontextmanager
async def development_house(root: Path, *extra: str) -> AsyncIterator[House]:
    """`scripts/develop`'s house in `root`, on free ports; stopped at the end."""
    config, log = root / "config", root / "develop.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 - it runs beside the test
            [
                sys.executable,
                "-m",
                "tools.develop",
                "--config",
                str(config),
                *("--port", "0", "--http-port", "0", "--rest-port", "0", "--store-port", "0"),
                *extra,
            ],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    try:
        async with asyncio.timeout(240):
            while not (found := _OPEN_LINE.search(log.read_text(errors="replace"))):
                if process.poll() is not None:
                    raise AssertionError(f"scripts/develop ended: {log.read_text()[-3000:]}")
                await asyncio.sleep(0.5)
        yield House(found.group(1), config, log)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 60)


async def onboard(house: House) -> None:
    """The onboarding a homeowner clicks through, done through its API; logs in."""
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{house.url}/api/onboarding/users",
            json={"client_id": house.client_id, "language": "en", **USER},
        ) as response:
            assert response.status == 200, await response.text()
            code = (await response.json())["auth_code"]
        async with http.post(
            f"{house.url}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": house.client_id},
        ) as response:
            tokens = await response.json()
        house.token, house.refresh_token = tokens["access_token"], tokens["refresh_token"]
        for step, body in (
            ("core_config", {}),
            ("analytics", {}),
            ("integration", {"client_id": house.client_id, "redirect_uri": house.client_id}),
        ):
            async with http.post(
                f"{house.url}/api/onboarding/{step}", json=body, headers=house.headers()
            ) as response:
                assert response.status == 200, (step, await response.text())


def login_script(house: House, language: str) -> str:
    """Put the tokens where the frontend keeps them, and the language the user chose."""
    return f"""
      localStorage.setItem("hassTokens", JSON.stringify({{
        access_token: "{house.token}", refresh_token: "{house.refresh_token}",
        token_type: "Bearer", expires_in: 1800, expires: Date.now() + 1800000,
        hassUrl: "{house.url}", clientId: "{house.client_id}"
      }}));
      localStorage.setItem("selectedLanguage", JSON.stringify("{language}"));
    """


async def api(house: House, method: str, path: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{house.url}{path}", json=body, headers=house.headers()) as r,
    ):
        assert r.status < 300, (path, r.status, await r.text())
        return await r.json()


async def state(house: House, entity_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await api(house, "GET", f"/api/states/{entity_id}")
    return result


async def until_state(house: House, entity_id: str, test: Any, seconds: float) -> dict[str, Any]:
    """Poll the API until `test(state)` holds."""
    async with asyncio.timeout(seconds):
        while True:
            current = await state(house, entity_id)
            if test(current):
                return current
            await asyncio.sleep(0.3)

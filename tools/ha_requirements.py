"""What a running Home Assistant installs for itself, listed ahead of time.

Home Assistant installs an integration's Python requirements when it first loads it. The
venv is made offline and ahead of time, so scripts/setup asks this module for the
requirements of every integration a development instance loads: the ones Home Assistant
always sets up, ``default_config``'s, the frontend's and this integration's, each with
what it depends on.

``python -m tools.ha_requirements`` prints them, one per line;
``--constraints`` prints the path of Home Assistant's own pins (package_constraints.txt).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

import homeassistant
from homeassistant import bootstrap

REPO = Path(__file__).resolve().parents[1]
HA_PACKAGE = Path(homeassistant.__file__).parent
COMPONENTS = HA_PACKAGE / "components"

# Set up by every instance: the bootstrap's own sets, then the development configuration's.
ALWAYS_LOADED = (
    bootstrap.CORE_INTEGRATIONS
    | bootstrap.LOGGING_AND_HTTP_DEPS_INTEGRATIONS
    | bootstrap.FRONTEND_INTEGRATIONS
    | bootstrap.DEFAULT_INTEGRATIONS
    | {"recorder", "default_config"}
)


def manifest(domain: str) -> dict[str, object]:
    """The manifest of a core integration or of this repository's, empty when there is none."""
    for folder in (COMPONENTS / domain, REPO / "custom_components" / domain):
        path = folder / "manifest.json"
        if path.is_file():
            loaded: dict[str, object] = json.loads(path.read_text())
            return loaded
    return {}


def requirements(domains: Iterable[str]) -> list[str]:
    """Requirements of the domains and of everything they depend on, each listed once."""
    pending, seen, found = list(domains), set[str](), dict[str, None]()
    while pending:
        domain = pending.pop()
        if domain in seen:
            continue
        seen.add(domain)
        info = manifest(domain)
        found.update(dict.fromkeys(_strings(info.get("requirements"))))
        pending.extend(_strings(info.get("dependencies")))
    return sorted(found, key=str.lower)


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def main(argv: list[str]) -> int:
    if argv == ["--constraints"]:
        print(HA_PACKAGE / "package_constraints.txt")
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    print("\n".join(requirements(sorted(ALWAYS_LOADED | {"rlink"}))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

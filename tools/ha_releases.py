"""Home Assistant's releases on PyPI: ``python -m tools.ha_releases --newest`` prints the
newest one, pre-releases included (scripts/test --forward tests against it)."""

from __future__ import annotations

import json
import sys
import urllib.request

from packaging.version import InvalidVersion, Version

INDEX = "https://pypi.org/simple/homeassistant/"


def versions() -> list[Version]:
    request = urllib.request.Request(
        INDEX, headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        listing = json.load(response)
    found = []
    for raw in listing.get("versions", []):
        try:
            found.append(Version(raw))
        except InvalidVersion:
            continue
    return sorted(found)


def main(argv: list[str]) -> int:
    if argv != ["--newest"]:
        print(__doc__, file=sys.stderr)
        return 2
    print(versions()[-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

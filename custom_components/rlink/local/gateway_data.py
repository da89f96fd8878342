"""A gateway's local groups, scenes and one-click executions: what the hub may tell it.

The gateway is the master of its own data. It runs its sub-devices and rules without the
hub, and a gateway moved over from another cloud arrives with data Home Assistant has never
seen. So the hub's copy follows the gateway:

- what exists is what the gateway says exists: a group or rule it no longer lists leaves
  the hub's copy, one it lists that the hub does not know is kept as a bare entry (its id
  only) until the hub learns its content;
- the hub adds names and rooms (from Home Assistant's registries) and the content of the
  entries created through Home Assistant;
- the hub never sends a list it does not know in full: a list with an entry whose content
  it lacks is left out of `gateway_data_init` and `update_local_config`, and an empty list
  is never sent over a gateway's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from ..protocol.messages import JsonObject

GROUPS: Final = "groups"
SCENES: Final = "scenes"
EXECUTES: Final = "executes"
REPORTED: Final = "reported"
"""The gateway's own lists from its last `local_data_sync`."""

# A stored group or rule whose content the hub never learned holds only its id.
_GROUP_FIELDS: Final = ("shortId", "name", "assetId", "assetName", "deviceUuids")
_SCENE_FIELDS: Final = ("shortId", "name", "executeType", "conditions", "actions")


def empty_store() -> dict[str, Any]:
    return {GROUPS: [], SCENES: [], EXECUTES: []}


def known(entry: JsonObject) -> bool:
    """Whether the hub knows an entry's content, not only its id."""
    return "deviceUuids" in entry or "actions" in entry


def _ids(entries: Iterable[JsonObject]) -> set[int]:
    return {int(e["shortId"]) for e in entries if isinstance(e.get("shortId"), int)}


def _whole_ids(values: Any) -> list[int]:
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def merge_reported(store: dict[str, Any], data: JsonObject) -> None:
    """Take the gateway's `local_data_sync` lists as the truth about what exists.

    A list the gateway leaves out says nothing: what the hub holds for it stays.
    """
    reported = dict(store.get(REPORTED) or {})
    if "groupShortIds" in data:
        groups = _whole_ids(data.get("groupShortIds"))
        store[GROUPS] = _follow(store[GROUPS], groups)
        reported["groupShortIds"] = groups
    if "sceneShortIds" in data:
        rules = _whole_ids(data.get("sceneShortIds"))
        rule_ids = set(rules)
        store[SCENES] = [e for e in store[SCENES] if e.get("shortId") in rule_ids]
        store[EXECUTES] = [e for e in store[EXECUTES] if e.get("shortId") in rule_ids]
        held = _ids(store[SCENES]) | _ids(store[EXECUTES])
        # A rule the hub never saw: a scene or a one-click execution? Unknown; it is kept
        # as a bare scene entry, which no list is sent with until its content is known.
        store[SCENES] += [{"shortId": i} for i in rules if i not in held]
        store[SCENES].sort(key=_short_id)
        reported["sceneShortIds"] = rules
    if "subUuids" in data:
        reported["subUuids"] = [u for u in data.get("subUuids") or [] if isinstance(u, str)]
    store[REPORTED] = reported


def _follow(entries: list[JsonObject], ids: list[int]) -> list[JsonObject]:
    by_id = {e.get("shortId"): e for e in entries}
    return [by_id.get(i) or {"shortId": i} for i in sorted(set(ids))]


def complete(entries: list[JsonObject]) -> bool:
    """A list the hub may send: every entry's content known, and at least one entry."""
    return bool(entries) and all(known(e) for e in entries)


def group_json(entry: JsonObject) -> JsonObject:
    return {k: entry[k] for k in _GROUP_FIELDS if k in entry}


def scene_json(entry: JsonObject) -> JsonObject:
    """A rule in `local_scene_update`'s `scene` shape; a one-click execution has no
    conditions."""
    out: JsonObject = {k: entry[k] for k in _SCENE_FIELDS if k in entry}
    out.setdefault("executeType", 1)
    out.setdefault("conditions", [])
    return out


def init_payload(
    store: dict[str, Any], subs: list[JsonObject], gateway_subs: list[str]
) -> JsonObject:
    """`gateway_data_init`: the gateway's own sub-devices with their names and rooms, and
    every list the hub knows in full."""
    named = {s["uuid"]: s for s in subs}
    payload: JsonObject = {
        "subUuids": list(gateway_subs),
        "subDevices": [named[u] for u in gateway_subs if u in named],
    }
    if complete(store[GROUPS]):
        payload["localGroups"] = [group_json(g) for g in store[GROUPS]]
    rules = store[SCENES] + store[EXECUTES]
    if complete(rules):
        payload["localScenes"] = [scene_json(r) for r in sorted(rules, key=_short_id)]
    return payload


def config_payload(store: dict[str, Any]) -> JsonObject | None:
    """`update_local_config` with the lists the hub knows in full, or None for none.

    Scenes and executions are one set of rules on the gateway: with one rule of unknown
    content, which of the two it belongs to is unknown too, so neither is sent.
    """
    payload: JsonObject = {"updates": []}
    rules_known = all(known(r) for r in store[SCENES] + store[EXECUTES])
    if complete(store[GROUPS]):
        payload["updates"].append(GROUPS)
        payload[GROUPS] = [
            {"shortId": g["shortId"], "deviceUuids": g.get("deviceUuids", [])}
            for g in store[GROUPS]
        ]
    if rules_known and store[SCENES]:
        payload["updates"].append(SCENES)
        payload[SCENES] = [
            {k: s[k] for k in ("shortId", "executeType", "conditions", "actions") if k in s}
            for s in store[SCENES]
        ]
    if rules_known and store[EXECUTES]:
        payload["updates"].append(EXECUTES)
        payload[EXECUTES] = [
            {"shortId": e["shortId"], "actions": e.get("actions", [])} for e in store[EXECUTES]
        ]
    return payload if payload["updates"] else None


def _short_id(entry: JsonObject) -> int:
    return int(entry.get("shortId") or 0)


class GatewayConfigs:
    """Every gateway's groups, scenes and executions as the hub keeps them (with names)."""

    def __init__(self) -> None:
        self.by_gateway: dict[str, dict[str, Any]] = {}

    def load(self, saved: dict[str, Any] | None) -> None:
        self.by_gateway = dict(saved or {})

    def knows(self, gateway_uuid: str) -> bool:
        return gateway_uuid in self.by_gateway

    def store(self, gateway_uuid: str) -> dict[str, Any]:
        """The gateway's copy, created empty; older copies get the lists they lack."""
        stored = self.by_gateway.setdefault(gateway_uuid, empty_store())
        for key, value in empty_store().items():
            stored.setdefault(key, value)
        return stored

    def payload(self, gateway_uuid: str) -> JsonObject | None:
        """`update_local_config` with what the hub knows in full, or None."""
        return config_payload(self.store(gateway_uuid))

    def rename_device(self, old_uuid: str, new_uuid: str) -> None:
        """A replaced sub-device keeps its place in every group."""
        for entries in self.by_gateway.values():
            for group in entries.get(GROUPS, []):
                group["deviceUuids"] = [
                    new_uuid if u == old_uuid else u for u in group.get("deviceUuids", [])
                ]

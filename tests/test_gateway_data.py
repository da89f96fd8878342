"""A gateway's local data: the gateway says what exists, the hub never sends a partial list."""

from __future__ import annotations

from typing import Any

from custom_components.rlink.local import gateway_data as gd

GROUP = {"shortId": 1, "name": "Hall", "deviceUuids": ["rn01aaaaaaaaaaaa"]}
SCENE = {
    "shortId": 4,
    "name": "Dusk",
    "executeType": 2,
    "conditions": [{"orderNum": 1, "type": "job", "loops": "1111100", "time": "18:00"}],
    "actions": [{"orderNum": 1, "actionType": "group", "shortGroupId": 1, "delayedTime": 0}],
}
EXECUTE = {"shortId": 5, "name": "All off", "actions": [{"orderNum": 1, "actionType": "device"}]}


def _store(**lists: list[dict[str, Any]]) -> dict[str, Any]:
    store = gd.empty_store()
    for key, entries in lists.items():
        store[key] = [dict(e) for e in entries]
    return store


def test_the_gateway_decides_what_exists() -> None:
    store = _store(groups=[GROUP, {**GROUP, "shortId": 2}], scenes=[SCENE], executes=[EXECUTE])
    gd.merge_reported(store, {"groupShortIds": [1, 3], "sceneShortIds": [5, 6]})
    # Group 2 and scene 4 are gone on the gateway; 3 and 6 exist there but are new here.
    assert store["groups"] == [GROUP, {"shortId": 3}]
    assert store["scenes"] == [{"shortId": 6}]
    assert store["executes"] == [EXECUTE]


def test_a_list_left_out_keeps_what_the_hub_holds() -> None:
    store = _store(groups=[GROUP], scenes=[SCENE])
    gd.merge_reported(store, {"subUuids": ["rn01aaaaaaaaaaaa"]})
    assert store["groups"] == [GROUP]
    assert store["scenes"] == [SCENE]
    assert store["reported"] == {"subUuids": ["rn01aaaaaaaaaaaa"]}


def test_nothing_is_sent_where_the_hub_knows_nothing() -> None:
    assert gd.config_payload(gd.empty_store()) is None
    store = gd.empty_store()
    gd.merge_reported(store, {"groupShortIds": [1], "sceneShortIds": [4]})
    assert gd.config_payload(store) is None
    init = gd.init_payload(store, [], ["rn01aaaaaaaaaaaa"])
    assert init == {"subUuids": ["rn01aaaaaaaaaaaa"], "subDevices": []}


def test_one_unknown_rule_keeps_both_rule_lists_back() -> None:
    store = _store(groups=[GROUP], scenes=[SCENE, {"shortId": 9}], executes=[EXECUTE])
    payload = gd.config_payload(store)
    assert payload == {
        "updates": ["groups"],
        "groups": [{"shortId": 1, "deviceUuids": ["rn01aaaaaaaaaaaa"]}],
    }
    assert "localScenes" not in gd.init_payload(store, [], [])


def test_known_lists_go_in_the_spec_s_shapes() -> None:
    store = _store(groups=[GROUP], scenes=[SCENE], executes=[EXECUTE])
    payload = gd.config_payload(store)
    assert payload is not None
    assert payload["updates"] == ["groups", "scenes", "executes"]
    assert payload["executes"] == [{"shortId": 5, "actions": EXECUTE["actions"]}]
    init = gd.init_payload(store, [], [])
    assert init["localGroups"] == [GROUP]
    # Scenes and one-click executions share one list; an execution has no conditions.
    assert [r["shortId"] for r in init["localScenes"]] == [4, 5]
    assert init["localScenes"][1] == {**EXECUTE, "executeType": 1, "conditions": []}

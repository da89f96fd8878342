"""Where what this project builds deliberately differs from the protocol document's example.

`test_spec_conformance` reduces every message the integration and the simulator build to
its shape and compares it with the document's example for the same topic kind and code.
Each difference it finds must be listed here, keyed by

    (direction, code, path)

where the direction is the topic kind (``report_response``, ``issue``, ``report``,
``issue_response``, ``product_issue``, ``product_issue_response``, ``notify``) or ``rest``
for an app REST request body (whose code is the endpoint), and the path names the key the
way `spec_shapes` does (``data.devices[].pid``). The value says why. A difference not listed
fails the suite, and so does an entry no run finds any more.
"""

from __future__ import annotations

from typing import Final

DEVIATIONS: Final[dict[tuple[str, str, str], str]] = {
    # --- Home Assistant's answers to device events ---------------------------------------
    ("report_response", "info", "data.logSwitch.tttype"): (
        "sent only with enable=1, as the document's own note on the field says; a device "
        "whose logs are off gets just enable=0"
    ),
    ("report_response", "info", "data.logSwitch.intervalTime"): (
        "sent only with enable=1, as the document's own note on the field says"
    ),
    ("report_response", "weather", "data.temperature"): (
        "left out when Home Assistant has no weather entity with a temperature: there is "
        "none to give, and a made-up one would be worse"
    ),
    ("report_response", "webrtc_config", "data.auth"): (
        "TURN credentials exist only when Home Assistant has a TURN server (Home Assistant "
        "Cloud or a configured one); its default STUN servers need none"
    ),
    ("report_response", "p2p_config", "data.webrtcConfig.auth"): (
        "as for webrtc_config: no TURN server, no credentials"
    ),
    # --- Home Assistant's commands -------------------------------------------------------
    ("issue", "find_bind", "data.uuids"): (
        "the gateway's buttons search for any device; the uuids that narrow a search to "
        "given devices, a replacement among them, are left out (rlink.replace_sub_device "
        "uses sub_replace)"
    ),
    ("issue", "find_bind", "data.pids"): "as uuids: a search covers every product",
    ("issue", "local_group_set", "data.shortId"): (
        "a number: every other shortId in the document is one (0 to 9999), and this "
        "example writes a description where the value goes"
    ),
    ("issue", "local_group_update", "data.bindUuid"): (
        "groups made in Home Assistant are not tied to a wall switch's data point, so the "
        "binding is left out"
    ),
    ("issue", "local_group_update", "data.dpIdentifier"): "as bindUuid: no bound data point",
    ("issue", "ota", "data.options"): (
        "optional upgrade parameters; a firmware file in Home Assistant names no partition"
    ),
    ("product_issue", "silence_ota", "data.options"): "as for ota: no partition to name",
    ("issue", "property_get", "data.dps"): (
        "Home Assistant always asks for every property (reportAll), so names none"
    ),
    ("issue", "property_get", "data.subUuids"): (
        "only when a gateway is asked for its sub-devices' values; a device on its own is "
        "asked without it"
    ),
    ("issue", "wake_up", "data.subUuid"): (
        "a device on its own is woken with empty data; subUuid names a gateway's sub-device"
    ),
    **{
        ("issue", "update_local_config", path): (
            "rules go out whole, as local_scene_update and gateway_data_init write them "
            "(condition type and order, timer conditions, action delays); this example "
            "shows a shorter form that would lose them"
        )
        for path in (
            "data.scenes[].conditions[].type",
            "data.scenes[].conditions[].orderNum",
            "data.scenes[].conditions[].loops",
            "data.scenes[].conditions[].time",
            "data.scenes[].conditions[].startDate",
            "data.scenes[].actions[].delayedTime",
            "data.executes[].actions[].delayedTime",
        )
    },
    # --- What the simulated devices say --------------------------------------------------
    ("issue_response", "local_group_set", "data.shortId"): (
        "the simulated gateway echoes the command, whose shortId is a number (see issue)"
    ),
    ("report", "pwd_sync", "data.subPid"): (
        "a lock on its own names no sub-device; the field is for a lock behind a gateway"
    ),
    ("report", "pwd_sync", "data.subUuid"): "as subPid",
    # --- A cloud account's REST bodies ---------------------------------------------------
    ("rest", "propsGet", "body.dps"): (
        "Home Assistant always asks for every property (reportAll), so names none"
    ),
    ("rest", "scanIssue", "body.uuids"): (
        "optional: left out, a search covers every device (binding a found device names it)"
    ),
    ("rest", "scanIssue", "body.pids"): "optional: left out, a search covers every product",
    # --- The fake cloud's notifications --------------------------------------------------
    ("notify", "bind_result", "data.devices[].gatewayId"): (
        "only for a sub-device; a device on its own has no gateway to name (property_change "
        "says so of the same field)"
    ),
    ("notify", "bind_result", "data.devices[].pid"): (
        "added: the app API has no other way to tell the product, and without it Home "
        "Assistant cannot find the device's object model; the integration reads it when "
        "present"
    ),
    ("notify", "property_change", "data.devices[].gatewayId"): (
        "only for a sub-device, as the document's own note on the field says"
    ),
    **{
        ("notify", "pwd_set_result", path): (
            "a lock's own password sync (pwd_sync) reaches the app as its whole list "
            "(pwdList, codes left out), as the summary table's name for this code, "
            "pwd_list_resp, suggests; a single add or delete result, as in the example, "
            "has no event behind it in the fake cloud"
        )
        for path in ("data.pwdList", "data.operatorType", "data.pwdData")
    },
    ("notify", "status", "data.tcpOnlineStatus"): (
        "the fake cloud runs no low-power TCP link, so it says nothing of one"
    ),
    ("notify", "sys_notice", "data.messageInfo.deviceId"): (
        "added to a device alarm so the app can tell which device raised it; Home "
        "Assistant fires the alarm on that device's event entity"
    ),
    ("notify", "sys_notice", "data.shareInfo"): (
        "only for sharing notices, whose content the document leaves to be decided; an "
        "alarm is a message notice"
    ),
    ("notify", "webrtc_signal_exchange", "data.error"): (
        "the device's error is passed on: it is how a busy camera says so (the device's "
        "own signalling example carries it)"
    ),
}

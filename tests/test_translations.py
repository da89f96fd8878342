"""Every user-visible string is translated, in English and Simplified Chinese, and used."""

from __future__ import annotations

import ast
import json
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import homeassistant
import pytest
import yaml

from custom_components.rlink import camera, firmware, services

INTEGRATION = Path(__file__).resolve().parents[1] / "custom_components" / "rlink"
STRINGS = json.loads((INTEGRATION / "strings.json").read_text())
LANGUAGES = ("en", "zh-Hans")

# Exceptions raised with a literal key: `translation_key="…"` beside the integration's
# domain, and the helpers that build such an exception from a key.
RAISED = re.compile(
    r'translation_domain=DOMAIN,\s*translation_key="(?P<a>[a-z_]+)"'
    r'|\b(?:invalid|command_error)\(\s*"(?P<b>[a-z_]+)"'
    r'|\.connect\(\s*\w+,\s*"(?P<c>[a-z_]+)"'
)

WEBRTC_ERROR = re.compile(r'\b_webrtc_error\(\s*"([a-z_]+)"')


def _leaves(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, tree


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _translation(language: str) -> dict[str, Any]:
    return json.loads((INTEGRATION / "translations" / f"{language}.json").read_text())


# Home Assistant's common strings, which strings.json refers to as [%key:common::…%].
HA_STRINGS = json.loads((Path(homeassistant.__file__).parent / "strings.json").read_text())
REFERENCE = re.compile(r"\[%key:([a-z_:]+)%\]")


def _resolved(tree: Any) -> Any:
    """strings.json with each reference replaced by the text it names (as hassfest does)."""
    if isinstance(tree, dict):
        return {key: _resolved(value) for key, value in tree.items()}
    match = REFERENCE.fullmatch(tree)
    if match is None:
        return tree
    text: Any = HA_STRINGS
    for key in match.group(1).split("::"):
        text = text[key]
    assert isinstance(text, str), match.group(1)
    return text


def test_english_is_the_source() -> None:
    assert _translation("en") == _resolved(STRINGS)


def test_common_words_are_home_assistant_s_own() -> None:
    """Where Home Assistant has a common string, strings.json refers to it."""
    references = {path: text for path, text in _leaves(STRINGS) if REFERENCE.fullmatch(text)}
    assert all(text.startswith("[%key:common::") for text in references.values())
    for flow_step in ("external", "reauth_confirm", "reconfigure"):
        for field in ("username", "password"):
            path = ("config", "step", flow_step, "data", field)
            assert references[path] == f"[%key:common::config_flow::data::{field}%]"
    abort = STRINGS["config"]["abort"]
    assert abort["reauth_successful"] == "[%key:common::config_flow::abort::reauth_successful%]"
    # No reference hides inside other text, where Home Assistant would not resolve it.
    assert not [p for p, t in _leaves(STRINGS) if "[%key:" in t and p not in references]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated_with_the_same_placeholders(language: str) -> None:
    source = dict(_leaves(STRINGS))
    translated = dict(_leaves(_translation(language)))
    assert set(translated) == set(source), set(translated) ^ set(source)
    for path, text in source.items():
        assert translated[path].strip(), path
        assert _placeholders(translated[path]) == _placeholders(text), path


def test_every_service_is_described() -> None:
    described = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    registered = set(services.ALL_SERVICES)
    assert set(described) == registered
    for name, service in described.items():
        texts = STRINGS["services"][name]
        assert texts["name"]
        assert texts["description"]
        assert set(texts.get("fields", {})) == set(service.get("fields") or {}), name


def test_every_raised_error_has_a_message() -> None:
    raised = {
        next(key for key in match.groups() if key)
        for source in INTEGRATION.rglob("*.py")
        for match in RAISED.finditer(source.read_text())
    }
    # A failed firmware install names its reason from a table.
    raised |= {f"ota_{reason}" for reason in (*firmware.OTA_ERRORS.values(), "install_failed")}
    # A live view that fails tells the browser why, in words from the exceptions.
    camera_source = (INTEGRATION / "camera.py").read_text()
    codes = {*WEBRTC_ERROR.findall(camera_source), *camera.SIGNAL_ERRORS.values()}
    raised |= {f"webrtc_{code}" for code in codes}
    assert {"webrtc_device_busy", "webrtc_device_error", "webrtc_invalid_answer"} <= raised
    assert {"cloud_not_connected", "not_a_cloud_account", "invalid_value"} <= raised
    assert raised == set(STRINGS["exceptions"])  # none missing, none left over


# Flow errors (`{"base": "…"}`, `errors[…] = "…"`, `{CONF_…: "…"}`) and abort reasons.
FLOW_ERROR = re.compile(
    r'(?:"base"|\bCONF_[A-Z_]+):\s*"(?P<a>[a-z_]+)"|errors\[[^\]]+\]\s*=\s*"(?P<b>[a-z_]+)"'
)
ABORT = re.compile(r'reason="([a-z_]+)"')


def test_every_flow_error_and_abort_has_a_message() -> None:
    flows = [
        p.read_text() for p in (*INTEGRATION.glob("*flow*.py"), *INTEGRATION.glob("flows/*.py"))
    ]
    errors = {next(k for k in m.groups() if k) for s in flows for m in FLOW_ERROR.finditer(s)}
    aborts = {m.group(1) for s in flows for m in ABORT.finditer(s)}
    assert {"invalid_auth", "rest_failed", "homes_required", "invalid_user_id"} <= errors
    sections = [STRINGS["config"], *STRINGS["config_subentries"].values()]
    known_errors = {key for section in sections for key in section.get("error", {})}
    known_aborts = {key for section in sections for key in section.get("abort", {})}
    assert errors - known_errors == set()
    assert aborts - known_aborts == set()


def test_every_service_and_named_entity_has_an_icon() -> None:
    icons = json.loads((INTEGRATION / "icons.json").read_text())
    assert set(icons["services"]) == set(services.ALL_SERVICES)
    assert all(i["service"].startswith("mdi:") for i in icons["services"].values())
    named = {(platform, key) for platform, keys in STRINGS["entity"].items() for key in keys}
    # Updates have their device class's icon.
    with_icon = {(platform, key) for platform, keys in icons["entity"].items() for key in keys}
    assert with_icon == named - {("update", "firmware")}
    for keys in icons["entity"].values():
        assert all(icon["default"].startswith("mdi:") for icon in keys.values())


# Errors Home Assistant shows to the user: each one is built from a translation key.
USER_ERRORS = frozenset(
    {
        "HomeAssistantError",
        "ServiceValidationError",
        "ConfigEntryError",
        "ConfigEntryNotReady",
        "ConfigEntryAuthFailed",
    }
)


def _user_errors_built() -> Iterator[tuple[str, ast.Call]]:
    for source in INTEGRATION.rglob("*.py"):
        if "protocol" in source.relative_to(INTEGRATION).parts:
            continue  # the protocol package speaks to devices, not to people
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in USER_ERRORS:
                    yield f"{source.name}:{node.lineno}", node


def test_every_error_shown_to_the_user_is_translated() -> None:
    built = list(_user_errors_built())
    assert len(built) > 20  # the scan finds the integration's errors
    for where, call in built:
        keywords = {k.arg for k in call.keywords}
        assert not call.args, f"{where}: a message in words instead of a translation key"
        assert {"translation_domain", "translation_key"} <= keywords, where
    # And nothing else reaches the user untranslated: no bare raise of a plain message, no
    # live-view error for the browser in words written here.
    for source in INTEGRATION.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "WebRTCError":
                message = node.args[1] if len(node.args) > 1 else None
                assert not isinstance(message, ast.Constant | ast.JoinedStr), (
                    f"{source.name}:{node.lineno}: a live-view error in words, not translated"
                )
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                assert name not in {"Exception", "RuntimeError", "ValueError"}, (
                    f"{source.name}:{node.lineno} raises {name} to Home Assistant"
                )


def _fields(schema: Any) -> set[str]:
    return {str(getattr(key, "schema", key)) for key in schema.schema}


def test_every_form_field_is_labelled_and_described() -> None:
    """The forms' own schemas against strings.json: no field without a label and a
    description (the quality scale's config-flow rule), whichever step shows it."""
    from custom_components.rlink.flows import cloud as cloud_flow  # noqa: PLC0415
    from custom_components.rlink.flows import device as device_flow  # noqa: PLC0415
    from custom_components.rlink.flows import hub as hub_flow  # noqa: PLC0415
    from custom_components.rlink.flows import options as options_flow  # noqa: PLC0415
    from custom_components.rlink.flows import settings as settings_flow  # noqa: PLC0415

    hub = {"host": "broker.lan", "port": 1883}
    forms = {
        ("config", "embedded"): [hub_flow.embedded_schema({})],
        ("config", "external"): [hub_flow.external_schema({})],
        ("config", "reconfigure"): [
            hub_flow.embedded_schema(hub),
            hub_flow.external_schema(hub),
            cloud_flow.location_schema({}),
        ],
        ("config", "discovery_confirm"): [device_flow.device_schema(False, {})],
        ("config", "cloud_account"): [cloud_flow.account_schema({})],
        ("config", "reauth_confirm"): [cloud_flow.credentials_schema()],
        ("device", "user"): [
            device_flow.device_schema(True, {}),
            cloud_flow.device_schema({}, with_id=True),
        ],
        ("device", "reconfigure"): [cloud_flow.device_schema({}, with_id=False)],
        ("device", "credentials"): [device_flow.credentials_schema("Plug")],
        ("device", "settings"): [settings_flow.settings_schema({}, ["Europe/Paris"])],
        ("device", "lock"): [settings_flow.lock_schema({})],
        ("device", "storage"): [settings_flow.storage_schema({})],
        ("options", "init"): [cloud_flow.options_schema({}), options_flow.ping_schema({})],
    }
    for (flow, step), schemas in forms.items():
        texts = (
            STRINGS["config_subentries"][flow]["step"][step]
            if flow == "device"
            else STRINGS[flow]["step"][step]
        )
        for schema in schemas:
            fields = _fields(schema)
            assert fields, (flow, step)
            assert fields <= set(texts["data"]), (flow, step, fields - set(texts["data"]))
            described = set(texts["data_description"])
            assert fields <= described, (flow, step, fields - described)

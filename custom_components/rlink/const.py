"""Constants shared across the integration."""

from __future__ import annotations

from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "rlink"
MANUFACTURER: Final = "rlink"

# Config entry data
CONF_MODE: Final = "mode"
MODE_LOCAL: Final = "local"
MODE_CLOUD: Final = "cloud"
CONF_BROKER: Final = "broker"
BROKER_EMBEDDED: Final = "embedded"
BROKER_EXTERNAL: Final = "external"
CONF_TLS: Final = "tls"
CONF_TLS_INSECURE: Final = "tls_insecure"
CONF_TLS_CA: Final = "tls_ca"
CONF_CERTFILE: Final = "certfile"
CONF_KEYFILE: Final = "keyfile"
CONF_TLS_PORT: Final = "tls_port"
CONF_BIND_HOST: Final = "bind_host"
DEFAULT_BIND_HOST: Final = "0.0.0.0"  # noqa: S104 - devices on the LAN must reach the server
DEFAULT_PORT: Final = 1883
DEFAULT_TLS_PORT: Final = 8883
# An external broker that asks Home Assistant about its clients (broker_auth.py)
CONF_BROKER_AUTH: Final = "broker_auth"
CONF_AUTH_TOKEN: Final = "auth_token"  # noqa: S105 - a config key
CONF_AUTH_ALLOWED: Final = "auth_allowed"

# Cloud account
CONF_USER_ID: Final = "user_id"
CONF_APP_SECRET: Final = "app_secret"  # noqa: S105 - a config key
CONF_SIGN_METHOD: Final = "sign_method"
CONF_REST_URL: Final = "rest_url"
CONF_ACCESS_TOKEN: Final = "access_token"  # noqa: S105 - a config key
CONF_HOMES: Final = "homes"
CONF_DEVICE_ID: Final = "device_id"
CONF_WATCHDOG_INTERVAL: Final = "watchdog_interval"
DEFAULT_WATCHDOG_INTERVAL: Final = 600

# Device subentries
SUBENTRY_DEVICE: Final = "device"
CONF_UUID: Final = "uuid"
CONF_SUB_DEVICE: Final = "sub_device"  # the gateway's sub-device a reconfigure sets
CONF_SECRET: Final = "secret"  # noqa: S105 - a config key, not a secret
CONF_PID: Final = "pid"
CONF_FETCH_MODEL: Final = "fetch_model"
CONF_ENVIRONMENT: Final = "environment"
PLATFORM_HOSTS: Final = {"test": ("testmqtt.protco.in", 1883), "formal": ("mqtt.protco.in", 1883)}
# The protocol publishes the platform as plain MQTT on 1883; TLS on 8883 is the user's choice
# (CONF_FETCH_TLS) for a platform that offers it.
CONF_FETCH_TLS: Final = "fetch_tls"
PLATFORM_TLS_HOSTS: Final = {
    "test": ("testmqtt.protco.in", 8883),
    "formal": ("mqtt.protco.in", 8883),
}

# Config entry versions: 2 keeps each device's settings on its own subentry (under
# CONF_SETTINGS); version 1 kept them in the hub's options (under CONF_DEVICES).
ENTRY_VERSION: Final = 2
ENTRY_MINOR_VERSION: Final = 1

# Hub options; a device's own settings live in its subentry's data under CONF_SETTINGS.
# CONF_DEVICES keeps settings by uuid for gateways' sub-devices, which have no subentry.
CONF_DEVICES: Final = "devices"
CONF_SETTINGS: Final = "settings"
CONF_PING_INTERVAL: Final = "ping_interval"
DEFAULT_PING_INTERVAL: Final = 300
CONF_REMOTE_CONFIG: Final = "remote_config"
CONF_LOG_ENABLE: Final = "log_enable"
CONF_LOG_MODE: Final = "log_mode"
CONF_LOG_INTERVAL: Final = "log_interval"
CONF_TIME_ZONE: Final = "time_zone"
CONF_WEATHER_ENTITY: Final = "weather_entity"
CONF_KINDS: Final = "kinds"
CONF_ROLES: Final = "roles"
CONF_SLEEPING: Final = "sleeping"
CONF_UNLOCK_INDEX: Final = "unlock_index"
CONF_UNLOCK_PASSWORD: Final = "unlock_password"  # noqa: S105 - a config key
# A vacuum's object store for map and record uploads (answers `sweeper_sts_token`).
CONF_STORE_TYPE: Final = "store_type"
CONF_STORE_BUCKET: Final = "store_bucket"
CONF_STORE_REGION: Final = "store_region"
CONF_STORE_ACCESS_KEY: Final = "store_access_key"
CONF_STORE_SECRET_KEY: Final = "store_secret_key"  # noqa: S105 - a config key
CONF_STORE_SESSION_TOKEN: Final = "store_session_token"  # noqa: S105 - a config key
CONF_STORE_PUBLIC_URL: Final = "store_public_url"
# Temporary credentials: the role Home Assistant assumes, and where (AWS's regional STS
# when only a role is given).
CONF_STORE_ROLE_ARN: Final = "store_role_arn"
CONF_STORE_STS_URL: Final = "store_sts_url"

# Timing
COMMAND_TIMEOUT: Final = 10.0
SAVE_DELAY: Final = 10.0
"""Seconds within which changed live values reach the device cache."""
CONFIG_SAVE_DELAY: Final = 0.0
"""Configuration (sub-devices, local configs, held writes, maps, logins) is written at once."""

# Bus events
EVENT_DEVICE_EVENT: Final = f"{DOMAIN}_event"
EVENT_FIND_ALERT: Final = f"{DOMAIN}_find_alert"
EVENT_FOUND_DEVICES: Final = f"{DOMAIN}_found_devices"
EVENT_CLOUD_REPLY: Final = f"{DOMAIN}_cloud_reply"
"""A reply notification nobody was waiting for (common_cmd_resp, local_group_result…)."""
EVENT_CLOUD_NOTICE: Final = f"{DOMAIN}_cloud_notice"
"""Account news: sys_notice, ipc_token_used, matter_find, matter_pair, group changes."""

PLATFORMS: Final = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CAMERA,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.LIGHT,
    Platform.LOCK,
    Platform.NUMBER,
    Platform.SCENE,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TEXT,
    Platform.UPDATE,
    Platform.VACUUM,
]

SIGNAL_MODEL_EVENT = f"{DOMAIN}_model_event_{{}}"
"""Dispatcher signal per device uuid: (identifier, output)."""
SIGNAL_WEBRTC = f"{DOMAIN}_webrtc_{{}}"
"""Dispatcher signal per device uuid: the signalling data."""

"""The rlink integration: devices of the rlink MQTT 2.0 platform in Home Assistant."""

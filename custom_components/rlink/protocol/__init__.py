"""The rlink MQTT 2.0 protocol, free of Home Assistant.

Credentials, topics, codes, envelopes, object models and the `time` reply live here so
that the integration, the device simulator and the benchmarks share one implementation.
"""

"""The rlink device server: an MQTT 3.1.1 server made for rlink devices."""

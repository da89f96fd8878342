"""The local hub: Home Assistant plays the rlink cloud for devices on its device server or an
external broker (`hub.LocalHub`)."""

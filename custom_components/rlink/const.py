"""Constants shared across the integration."""

from typing import Final

DOMAIN: Final = "rlink"

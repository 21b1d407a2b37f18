"""Constants for the SHEMS integration."""

from typing import Final

DOMAIN: Final = "shems"
CONF_URL: Final = "url"
CONF_TOKEN: Final = "token"

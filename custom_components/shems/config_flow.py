"""Config flow: find the add-on, test the connection, confirm the home, choose the price source.

The add-on announces itself through Supervisor discovery; a plain-container install is added with its URL
and token. Either way the connection is tested before anything is stored, and the entry's unique id is
the add-on's own instance id (never its URL), so moving the add-on to another address updates the entry
instead of duplicating it. The home is pre-filled from the Energy dashboard preferences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.core import callback
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.service_info.hassio import HassioServiceInfo

from .api import ShemsAuthError, ShemsClient, ShemsConnectionError, ShemsResponseError, normalize_url
from .const import (
    CONF_EXPORT_PRICE,
    CONF_EXPORT_PRICE_ENTITY,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_GRID_POWER,
    CONF_IMPORT_PRICE,
    CONF_INSTANCE_ID,
    CONF_MAX_EXPORT_W,
    CONF_MAX_IMPORT_W,
    CONF_METERS,
    CONF_PEAK_END,
    CONF_PEAK_PRICE,
    CONF_PEAK_START,
    CONF_PRICE_ENTITY,
    CONF_PRICE_KIND,
    CONF_PV_AZIMUTH,
    CONF_PV_FORECAST,
    CONF_PV_PEAK_W,
    CONF_PV_TILT,
    CONF_SOLAR,
    CONF_TOKEN,
    CONF_URL,
    DEFAULT_PORT,
    DEFAULT_TITLE,
    DOMAIN,
    PRICE_ENTITY,
    PRICE_FIXED,
    PRICE_TOU,
    SUBENTRY_APPLIANCE,
    SUBENTRY_BATTERY,
    SUBENTRY_EV,
    SUBENTRY_THERMAL,
)
from .energy_prefs import EnergyPrefill, async_read_energy_prefs
from .models import Health
from .options_flow import ShemsOptionsFlow
from .price_source import PriceSourceError, validate_price_entity
from .subentry_flows import ApplianceSubentryFlow, BatterySubentryFlow, EvSubentryFlow, ThermalSubentryFlow
from .validation import energy_sensor_problem, power_sensor_problem

HOME_KEYS = (
    CONF_GRID_IMPORT,
    CONF_GRID_EXPORT,
    CONF_GRID_POWER,
    CONF_SOLAR,
    CONF_METERS,
    CONF_MAX_IMPORT_W,
    CONF_MAX_EXPORT_W,
    CONF_PV_PEAK_W,
    CONF_PV_TILT,
    CONF_PV_AZIMUTH,
    CONF_PV_FORECAST,
)
PRICE_KEYS = (
    CONF_PRICE_KIND,
    CONF_PRICE_ENTITY,
    CONF_EXPORT_PRICE_ENTITY,
    CONF_IMPORT_PRICE,
    CONF_EXPORT_PRICE,
    CONF_PEAK_PRICE,
    CONF_PEAK_START,
    CONF_PEAK_END,
)

ENERGY_SENSOR = selector.EntitySelector(selector.EntitySelectorConfig(domain="sensor", device_class="energy"))
ENERGY_SENSORS = selector.EntitySelector(
    selector.EntitySelectorConfig(domain="sensor", device_class="energy", multiple=True)
)
POWER_SENSOR = selector.EntitySelector(selector.EntitySelectorConfig(domain="sensor", device_class="power"))
PRICE_SENSOR = selector.EntitySelector(selector.EntitySelectorConfig(domain="sensor"))
WATTS = selector.NumberSelector(
    selector.NumberSelectorConfig(
        min=0, max=100000, step=100, unit_of_measurement="W", mode=selector.NumberSelectorMode.BOX
    )
)
PRICE_NUMBER = selector.NumberSelector(
    selector.NumberSelectorConfig(min=-10, max=10, step="any", mode=selector.NumberSelectorMode.BOX)
)
TIME = selector.TimeSelector()
PV_FORECAST_SENSOR = selector.EntitySelector(selector.EntitySelectorConfig(domain="sensor"))


def _degrees(maximum: int) -> selector.NumberSelector:
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=0, max=maximum, step=1, unit_of_measurement="°", mode=selector.NumberSelectorMode.BOX
        )
    )


def _suggested(value: Any) -> dict[str, Any]:
    return {"suggested_value": value} if value not in (None, "", []) else {}


async def async_test_connection(
    client: ShemsClient,
) -> tuple[Health | None, dict[str, str]]:
    """Ask the add-on for its health; map each failure to a form error."""
    try:
        health = await client.verify()
    except ShemsAuthError:
        return None, {"base": "invalid_auth"}
    except ShemsConnectionError:
        return None, {"base": "cannot_connect"}
    except ShemsResponseError:
        return None, {"base": "invalid_response"}
    return health, {}


# Where the add-on answers and the token it asks for: set up by hand, and changed by reconfiguring.
CONNECTION_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL): selector.TextSelector(
            selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
        ),
        vol.Optional(CONF_TOKEN, default=""): selector.TextSelector(
            selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
        ),
    }
)


class ShemsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Discovery or manual set-up, then the home and its price source."""

    VERSION = 1
    # 1.2: EVs name their charger's phases, voltage and current range and a plug input (see migration).
    MINOR_VERSION = 2

    def __init__(self) -> None:
        self._connection: dict[str, Any] = {}
        self._home: dict[str, Any] = {}
        self._price_kind: str = PRICE_ENTITY
        self._prefill: EnergyPrefill | None = None
        self._addon_name: str = DEFAULT_TITLE

    # -- connection -----------------------------------------------------------------------------

    async def _async_connect(self, url: str, token: str) -> tuple[Health | None, dict[str, str]]:
        try:
            base_url = normalize_url(url)
        except ValueError:
            return None, {CONF_URL: "invalid_url"}
        client = ShemsClient(async_get_clientsession(self.hass), base_url, token)
        health, errors = await async_test_connection(client)
        if health is not None:
            self._connection = {CONF_URL: base_url, CONF_TOKEN: token, CONF_INSTANCE_ID: health.instance_id}
        return health, errors

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Manual set-up: the add-on's (or container's) URL and token."""
        errors: dict[str, str] = {}
        if user_input is not None:
            health, errors = await self._async_connect(user_input[CONF_URL], user_input.get(CONF_TOKEN, ""))
            if health is not None:
                await self.async_set_unique_id(health.instance_id)
                self._abort_if_unique_id_configured(updates=self._connection_updates())
                return await self.async_step_home()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                CONNECTION_SCHEMA,
                user_input or {CONF_URL: f"http://localhost:{DEFAULT_PORT}"},
            ),
            errors=errors,
        )

    def _connection_updates(self) -> dict[str, Any]:
        return {CONF_URL: self._connection[CONF_URL], CONF_TOKEN: self._connection[CONF_TOKEN]}

    async def async_step_hassio(self, discovery_info: HassioServiceInfo) -> ConfigFlowResult:
        """The add-on announced itself through the Supervisor."""
        config = discovery_info.config
        host = config.get("host")
        if not host:
            return self.async_abort(reason="invalid_discovery_info")
        port = config.get("port", DEFAULT_PORT)
        health, errors = await self._async_connect(f"http://{host}:{port}", str(config.get("token") or ""))
        if health is None:
            return self.async_abort(reason=errors.get("base", "cannot_connect"))
        await self.async_set_unique_id(health.instance_id)
        self._abort_if_unique_id_configured(updates=self._connection_updates())
        self._addon_name = discovery_info.name or DEFAULT_TITLE
        self.context["title_placeholders"] = {"name": self._addon_name}
        return await self.async_step_hassio_confirm()

    async def async_step_hassio_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            return await self.async_step_home()
        return self.async_show_form(
            step_id="hassio_confirm", description_placeholders={"addon": self._addon_name}
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The add-on rejected the stored token."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            health, errors = await self._async_connect(entry.data[CONF_URL], user_input[CONF_TOKEN])
            if health is not None:
                await self.async_set_unique_id(health.instance_id)
                self._abort_if_unique_id_mismatch(reason="wrong_instance")
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_TOKEN: user_input[CONF_TOKEN]}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_TOKEN): selector.TextSelector(
                        selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
                    )
                }
            ),
            description_placeholders={"url": entry.data[CONF_URL]},
            errors=errors,
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the address or token, then review the home and the price source."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            health, errors = await self._async_connect(user_input[CONF_URL], user_input.get(CONF_TOKEN, ""))
            if health is not None:
                await self.async_set_unique_id(health.instance_id)
                self._abort_if_unique_id_mismatch(reason="wrong_instance")
                return await self.async_step_home()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                CONNECTION_SCHEMA,
                user_input or {CONF_URL: entry.data[CONF_URL], CONF_TOKEN: entry.data.get(CONF_TOKEN, "")},
            ),
            errors=errors,
        )

    # -- the home -------------------------------------------------------------------------------

    async def _async_home_defaults(self) -> dict[str, Any]:
        if self.source == SOURCE_RECONFIGURE:
            return dict(self._get_reconfigure_entry().data)
        if self._prefill is None:
            self._prefill = await async_read_energy_prefs(self.hass)
        prefill = self._prefill
        return {
            CONF_GRID_IMPORT: prefill.grid_import[0] if prefill.grid_import else None,
            CONF_GRID_EXPORT: prefill.grid_export[0] if prefill.grid_export else None,
            CONF_GRID_POWER: prefill.grid_power,
            CONF_SOLAR: list(prefill.solar),
            CONF_METERS: list(prefill.devices),
            CONF_PRICE_ENTITY: prefill.price_entity,
            CONF_EXPORT_PRICE_ENTITY: prefill.export_price_entity,
            CONF_IMPORT_PRICE: prefill.import_price,
            CONF_EXPORT_PRICE: prefill.export_price,
            CONF_PRICE_KIND: PRICE_ENTITY
            if prefill.price_entity or prefill.import_price is None
            else PRICE_FIXED,
        }

    async def async_step_home(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm the meters SHEMS reads: grid, solar and individual devices."""
        errors: dict[str, str] = {}
        if user_input is not None:
            for key in (CONF_GRID_IMPORT, CONF_GRID_EXPORT):
                if user_input.get(key) and (problem := energy_sensor_problem(self.hass, user_input[key])):
                    errors[key] = problem
            for key in (CONF_SOLAR, CONF_METERS):
                for entity_id in user_input.get(key, []):
                    if problem := energy_sensor_problem(self.hass, entity_id):
                        errors[key] = problem
            if user_input.get(CONF_GRID_POWER) and (
                problem := power_sensor_problem(self.hass, user_input[CONF_GRID_POWER])
            ):
                errors[CONF_GRID_POWER] = problem
            for key in (CONF_MAX_IMPORT_W, CONF_PV_PEAK_W):
                # Under 100 W is almost surely a value typed in kW: refuse it with that hint.
                if 0 < float(user_input.get(key) or 0) < 100:
                    errors[key] = "watts_look_like_kw"
            forecast = user_input.get(CONF_PV_FORECAST)
            if forecast and self.hass.states.get(forecast) is None:
                errors[CONF_PV_FORECAST] = "entity_not_found"
            if not errors:
                self._home = {key: user_input.get(key) for key in HOME_KEYS}
                return await self.async_step_price()
        defaults = await self._async_home_defaults()
        schema = vol.Schema(
            {
                vol.Optional(CONF_GRID_IMPORT): ENERGY_SENSOR,
                vol.Optional(CONF_GRID_EXPORT): ENERGY_SENSOR,
                vol.Optional(CONF_GRID_POWER): POWER_SENSOR,
                vol.Optional(CONF_SOLAR, default=[]): ENERGY_SENSORS,
                vol.Optional(CONF_METERS, default=[]): ENERGY_SENSORS,
                vol.Optional(CONF_MAX_IMPORT_W): WATTS,
                vol.Optional(CONF_MAX_EXPORT_W): WATTS,
                vol.Optional(CONF_PV_PEAK_W): WATTS,
                vol.Optional(CONF_PV_TILT): _degrees(90),
                vol.Optional(CONF_PV_AZIMUTH): _degrees(360),
                vol.Optional(CONF_PV_FORECAST): PV_FORECAST_SENSOR,
            }
        )
        suggested = {key: value for key, value in (user_input or defaults).items() if value not in (None, "")}
        return self.async_show_form(
            step_id="home", data_schema=self.add_suggested_values_to_schema(schema, suggested), errors=errors
        )

    # -- the price source -----------------------------------------------------------------------

    async def async_step_price(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick where prices come from: a price integration's entity, a fixed or a time-of-use tariff."""
        if user_input is not None:
            self._price_kind = user_input[CONF_PRICE_KIND]
            if self._price_kind == PRICE_FIXED:
                return await self.async_step_price_fixed()
            if self._price_kind == PRICE_TOU:
                return await self.async_step_price_tou()
            return await self.async_step_price_entity()
        defaults = await self._async_home_defaults()
        return self.async_show_form(
            step_id="price",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_PRICE_KIND, default=defaults.get(CONF_PRICE_KIND) or PRICE_ENTITY): (
                        selector.SelectSelector(
                            selector.SelectSelectorConfig(
                                options=[PRICE_ENTITY, PRICE_FIXED, PRICE_TOU],
                                translation_key="price_kind",
                                mode=selector.SelectSelectorMode.LIST,
                            )
                        )
                    )
                }
            ),
        )

    async def async_step_price_entity(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders = {"problem": ""}
        if user_input is not None:
            for key in (CONF_PRICE_ENTITY, CONF_EXPORT_PRICE_ENTITY):
                entity_id = user_input.get(key)
                if not entity_id:
                    continue
                try:
                    validate_price_entity(self.hass.states.get(entity_id), entity_id)
                except PriceSourceError as err:
                    errors[key] = "invalid_price_entity"
                    placeholders["problem"] = str(err)
            if not errors:
                return await self._async_finish(
                    {
                        CONF_PRICE_KIND: PRICE_ENTITY,
                        CONF_PRICE_ENTITY: user_input[CONF_PRICE_ENTITY],
                        CONF_EXPORT_PRICE_ENTITY: user_input.get(CONF_EXPORT_PRICE_ENTITY),
                        CONF_EXPORT_PRICE: user_input.get(CONF_EXPORT_PRICE),
                    }
                )
        defaults = await self._async_home_defaults()
        schema = vol.Schema(
            {
                vol.Required(CONF_PRICE_ENTITY): PRICE_SENSOR,
                vol.Optional(CONF_EXPORT_PRICE_ENTITY): PRICE_SENSOR,
                # The common dynamic import with a fixed feed-in tariff (pre-filled from the Energy
                # dashboard's fixed export price); used when no export price entity is chosen.
                vol.Optional(CONF_EXPORT_PRICE): PRICE_NUMBER,
            }
        )
        suggested = {k: v for k, v in (user_input or defaults).items() if v}
        return self.async_show_form(
            step_id="price_entity",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_price_fixed(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            return await self._async_finish(
                {
                    CONF_PRICE_KIND: PRICE_FIXED,
                    CONF_IMPORT_PRICE: user_input[CONF_IMPORT_PRICE],
                    CONF_EXPORT_PRICE: user_input.get(CONF_EXPORT_PRICE, 0.0),
                }
            )
        defaults = await self._async_home_defaults()
        schema = vol.Schema(
            {vol.Required(CONF_IMPORT_PRICE): PRICE_NUMBER, vol.Optional(CONF_EXPORT_PRICE): PRICE_NUMBER}
        )
        suggested = {
            k: v for k, v in defaults.items() if k in (CONF_IMPORT_PRICE, CONF_EXPORT_PRICE) and v is not None
        }
        return self.async_show_form(
            step_id="price_fixed", data_schema=self.add_suggested_values_to_schema(schema, suggested)
        )

    async def async_step_price_tou(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input[CONF_PEAK_START] == user_input[CONF_PEAK_END]:
                errors[CONF_PEAK_END] = "empty_peak_period"
            else:
                return await self._async_finish(
                    {
                        CONF_PRICE_KIND: PRICE_TOU,
                        CONF_IMPORT_PRICE: user_input[CONF_IMPORT_PRICE],
                        CONF_PEAK_PRICE: user_input[CONF_PEAK_PRICE],
                        CONF_PEAK_START: user_input[CONF_PEAK_START],
                        CONF_PEAK_END: user_input[CONF_PEAK_END],
                        CONF_EXPORT_PRICE: user_input.get(CONF_EXPORT_PRICE, 0.0),
                    }
                )
        defaults = await self._async_home_defaults()
        schema = vol.Schema(
            {
                vol.Required(CONF_IMPORT_PRICE): PRICE_NUMBER,
                vol.Required(CONF_PEAK_PRICE): PRICE_NUMBER,
                vol.Required(CONF_PEAK_START, default="07:00:00"): TIME,
                vol.Required(CONF_PEAK_END, default="22:00:00"): TIME,
                vol.Optional(CONF_EXPORT_PRICE): PRICE_NUMBER,
            }
        )
        suggested = {k: v for k, v in (user_input or defaults).items() if v is not None}
        return self.async_show_form(
            step_id="price_tou",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )

    async def _async_finish(self, price: dict[str, Any]) -> ConfigFlowResult:
        data = {**self._connection, **self._home, **{key: price.get(key) for key in PRICE_KEYS}}
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_and_abort(self._get_reconfigure_entry(), data=data)
        return self.async_create_entry(title=self._addon_name, data=data)

    # -- options and subentries -----------------------------------------------------------------

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> ShemsOptionsFlow:
        return ShemsOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        return {
            SUBENTRY_BATTERY: BatterySubentryFlow,
            SUBENTRY_EV: EvSubentryFlow,
            SUBENTRY_APPLIANCE: ApplianceSubentryFlow,
            SUBENTRY_THERMAL: ThermalSubentryFlow,
        }

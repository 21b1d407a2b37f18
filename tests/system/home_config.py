"""The Home Assistant configuration of the journey's home: what a real house exposes to SHEMS.

Every device is an ``input_number`` (what the "device" reports; the test changes it like a device would)
behind a template sensor with the unit, device class and state class the real integration would give it:
a grid meter (import/export energy, net power), a PV inverter (energy, power), a battery inverter
(charged/discharged energy, state of charge), an EV's state of charge, and a Nord Pool-shaped price
sensor (EUR/kWh now, ``raw_today``/``raw_tomorrow`` lists of start/end/value). The integration list is
explicit because ``default_config`` pulls integrations whose packages the test environment lacks.
"""

from __future__ import annotations

import os
from pathlib import Path

# A December-like day-ahead curve (EUR/kWh, local hours 0-23): cheap at night and at noon, dear at dusk.
PRICES_TODAY = (
    0.21, 0.19, 0.17, 0.16, 0.16, 0.18, 0.24, 0.31, 0.33, 0.29, 0.24, 0.19,
    0.14, 0.12, 0.13, 0.18, 0.26, 0.36, 0.39, 0.35, 0.30, 0.27, 0.24, 0.22,
)  # fmt: skip
# Tomorrow (published ahead, as Nord Pool does) starts with a windy night cheaper than anything today, so
# "cheapest today" and "cheapest in the next 24 hours" differ at any time of day.
PRICES_TOMORROW = (
    0.09, 0.09, 0.10, 0.11, 0.13, 0.16, 0.22, 0.29, 0.31, 0.27, 0.22, 0.18,
    0.15, 0.13, 0.14, 0.19, 0.25, 0.34, 0.37, 0.33, 0.29, 0.26, 0.23, 0.21,
)  # fmt: skip

TIME_ZONE = "Europe/Berlin"
HOME_NAME = "Lindenweg 7"


def _price_list(day: str, prices: tuple[float, ...]) -> str:
    """A Jinja expression building Nord Pool's ``raw_*`` list for the local day ``today``/``tomorrow``."""
    offset = 0 if day == "today" else 1
    values = ", ".join(str(price) for price in prices)
    return (
        "{% set ns = namespace(items=[]) %}"
        f"{{% set prices = [{values}] %}}"
        f"{{% set day = today_at('00:00') + timedelta(days={offset}) %}}"
        "{% for hour in range(24) %}"
        "{% set start = day + timedelta(hours=hour) %}"
        "{% set ns.items = ns.items + [{'start': start.isoformat(), "
        "'end': (start + timedelta(hours=1)).isoformat(), 'value': prices[hour]}] %}"
        "{% endfor %}{{ ns.items }}"
    )


def _input(name: str, initial: float, maximum: float, unit: str) -> str:
    return (
        f"  {name}:\n    min: 0\n    max: {maximum}\n    step: 0.001\n    initial: {initial}\n"
        f"    mode: box\n    unit_of_measurement: '{unit}'\n"
    )


def _sensor(name: str, unique_id: str, source: str, unit: str, device_class: str, state_class: str) -> str:
    return (
        f"      - name: {name}\n        unique_id: {unique_id}\n"
        f"        state: \"{{{{ states('input_number.{source}') | float(0) }}}}\"\n"
        f"        unit_of_measurement: '{unit}'\n        device_class: {device_class}\n"
        f"        state_class: {state_class}\n"
    )


# (sensor name, unique id, input number, initial, max, unit, device class, state class)
TOTAL = "total_increasing"
DEVICES = (
    ("Grid import", "grid_import", "grid_import_kwh", 4312.5, 1e6, "kWh", "energy", TOTAL),
    ("Grid export", "grid_export", "grid_export_kwh", 1804.2, 1e6, "kWh", "energy", TOTAL),
    ("Grid power", "grid_power", "grid_power_w", 640, 30000, "W", "power", "measurement"),
    ("Solar energy", "solar_energy", "solar_kwh", 6021.7, 1e6, "kWh", "energy", TOTAL),
    ("Solar power", "solar_power", "solar_w", 1250, 20000, "W", "power", "measurement"),
    ("Battery charged", "battery_in", "battery_in_kwh", 1502.3, 1e6, "kWh", "energy", TOTAL),
    ("Battery discharged", "battery_out", "battery_out_kwh", 1388.9, 1e6, "kWh", "energy", TOTAL),
    ("Battery level", "battery_soc", "battery_soc_pct", 46, 100, "%", "battery", "measurement"),
    ("Car battery", "car_soc", "car_soc_pct", 38, 100, "%", "battery", "measurement"),
)  # fmt: skip


def _set(entity: str, value: str) -> str:
    return (
        "      - action: input_number.set_value\n"
        f"        target:\n          entity_id: input_number.{entity}\n"
        f'        data:\n          value: "{value}"\n'
    )


def _add(entity: str, kwh: float) -> str:
    return _set(entity, f"{{{{ (states('input_number.{entity}') | float + {kwh}) | round(3) }}}}")


# The home is alive: like real meters, the grid and the inverter report every few seconds.
METERS_REPORT = (
    "automation:\n  - id: meters_report\n    alias: Meters report\n    mode: single\n"
    "    triggers:\n      - trigger: time_pattern\n        seconds: /5\n    actions:\n"
    + _set("grid_power_w", "{{ 380 + (now().second * 53) % 900 }}")
    + _add("grid_import_kwh", 0.001)
    + _set("solar_w", "{{ 900 + (now().second * 29) % 700 }}")
    + _add("solar_kwh", 0.002)
    + _add("battery_in_kwh", 0.001)
)

INTEGRATIONS = (
    "api",
    "automation",
    "blueprint",
    "config",
    "conversation",
    "energy",
    "frontend",
    "history",
    "http",
    "input_boolean",
    "input_number",
    "logbook",
    "onboarding",
    "recorder",
    "repairs",
    "search",
    "binary_sensor",
    "sensor",
    "switch",
    "system_log",
    "template",
    "websocket_api",
)


def configuration_yaml(port: int) -> str:
    """``configuration.yaml`` for a home on ``127.0.0.1:port``."""
    parts = [
        "homeassistant:\n"
        f"  name: {HOME_NAME}\n  latitude: 52.52\n  longitude: 13.405\n  elevation: 34\n"
        f"  unit_system: metric\n  time_zone: {TIME_ZONE}\n  currency: EUR\n  country: DE\n"
        f"  internal_url: http://127.0.0.1:{port}\n",
        f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n",
        "logger:\n  default: warning\n  logs:\n    custom_components.shems: debug\n",
        "recorder:\n  commit_interval: 2\n  purge_keep_days: 1\n",
    ]
    configured_below = ("http", "recorder", "input_number", "input_boolean", "template", "automation")
    parts += [f"{name}:\n" for name in INTEGRATIONS if name not in configured_below]
    parts.append(
        "input_number:\n"
        + "".join(
            _input(source, initial, maximum, unit) for _, _, source, initial, maximum, unit, *_ in DEVICES
        )
    )
    parts.append(
        "input_boolean:\n"
        "  wallbox_charging:\n    name: Wallbox charging\n"
        "  car_plugged_in:\n    name: Car plugged in\n    initial: true\n"
        "  dishwasher_plug:\n    name: Dishwasher plug\n"
        "  washer_plug:\n    name: Washing machine plug\n"
    )
    parts.append(METERS_REPORT)
    parts.append("automation ui: !include automations.yaml\n")  # where the automation editor saves
    sensors = "".join(
        _sensor(name, unique_id, source, unit, device_class, state_class)
        for name, unique_id, source, _, _, unit, device_class, state_class in DEVICES
    )
    hour = "now().hour"
    today = ", ".join(str(price) for price in PRICES_TODAY)
    parts.append(
        "template:\n  - sensor:\n"
        + sensors
        + "      - name: Nord Pool DE-LU\n        unique_id: nordpool_de_lu\n"
        f'        state: "{{{{ [{today}][{hour}] }}}}"\n'
        "        unit_of_measurement: EUR/kWh\n        state_class: measurement\n"
        "        attributes:\n"
        "          currency: EUR\n          region: DE-LU\n          tomorrow_valid: 'true'\n"
        f'          raw_today: "{_price_list("today", PRICES_TODAY)}"\n'
        f'          raw_tomorrow: "{_price_list("tomorrow", PRICES_TOMORROW)}"\n'
        "  - binary_sensor:\n"
        "      - name: Wallbox plug\n        unique_id: wallbox_plug\n        device_class: plug\n"
        "        state: \"{{ is_state('input_boolean.car_plugged_in', 'on') }}\"\n"
    )
    return "\n".join(parts)


# HA's voice-satellite integration imports two compiled packages the test environment does not ship;
# nothing in the journey uses them, but loading service descriptions imports their modules.
STUB_MODULES = {
    "pymicro_vad": "class MicroVad:\n    def Process10ms(self, audio):\n        return 0.0\n",
    "pyspeex_noise": (
        "class AudioProcessor:\n    def __init__(self, *args):\n        pass\n\n"
        "    def Process10ms(self, audio):\n        return audio\n"
    ),
}


def write_config_dir(config_dir: Path, stub_dir: Path, port: int, repo: Path) -> None:
    """Write the configuration, install the integration under ``custom_components`` and the blueprints
    under ``blueprints`` (links to the work tree's copies, as a developer installs them) and put the stub
    modules in ``stub_dir``."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(configuration_yaml(port), encoding="utf-8")
    (config_dir / "automations.yaml").write_text("[]\n", encoding="utf-8")
    custom = config_dir / "custom_components"
    custom.mkdir(exist_ok=True)
    os.symlink(repo / "custom_components" / "shems", custom / "shems", target_is_directory=True)
    # The shipped blueprints, where "Import blueprint" would put them.
    blueprints = config_dir / "blueprints" / "automation"
    blueprints.mkdir(parents=True)
    os.symlink(repo / "blueprints" / "automation" / "shems", blueprints / "shems", target_is_directory=True)
    stub_dir.mkdir(parents=True, exist_ok=True)
    for name, source in STUB_MODULES.items():
        (stub_dir / f"{name}.py").write_text(source, encoding="utf-8")

"""What the executor measures: the home's load from the grid meter, PV, battery and EV readings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shems_optimizer.adapters.homeassistant.measurements import LiveMeasurements
from shems_optimizer.app.records.models import Reading
from shems_optimizer.wiring.testing import running_service

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        ({}, None),  # no grid meter: nothing measured
        ({"grid": 500.0}, (500.0, 0.0)),
        ({"grid": 500.0, "pv": -2000.0, "bat": 1000.0}, (1500.0, 2000.0)),  # PV sign ignored; + charging
        # 3000 W PV + 200 W from the battery - 800 W exported - 1400 W to the car = 1000 W for the home
        ({"grid": -800.0, "pv": 3000.0, "bat": -200.0, "car": 1400.0}, (1000.0, 3000.0)),
        ({"grid": -5000.0, "pv": 1000.0}, (0.0, 1000.0)),  # inconsistent meters: never a negative load
    ],
)
async def test_home_load_from_meters(
    tmp_path: Path, readings: dict[str, float], expected: tuple[float, float] | None
) -> None:
    async with running_service(tmp_path) as svc:
        assert svc.service is not None and svc.service.devices is not None
        devices = svc.service.devices
        for device_id, kind in (("grid", "grid"), ("pv", "pv"), ("bat", "battery"), ("car", "ev")):
            await devices.register_device({"device_id": device_id, "name": device_id, "type": kind})
        devices.record_readings([Reading(d, NOW, power_w=w) for d, w in readings.items()])
        assert svc.service.live_inputs is not None
        measured = LiveMeasurements(devices, svc.service.live_inputs)
        assert measured.home_w() == expected
        assert measured.battery_soc("bat") is None  # no Home Assistant: SOC unknown

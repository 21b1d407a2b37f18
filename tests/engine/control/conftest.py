"""The battery the control tests reason about."""

from __future__ import annotations

import pytest

from shems_optimizer.core.control import BatteryLimits


@pytest.fixture
def limits() -> BatteryLimits:
    """10 kWh; 5 kW in and out; kept between 10 % and 90 %; 95 % efficient each way."""
    return BatteryLimits(10_000, 5_000, 5_000, 0.1, 0.9, 0.95, 0.95)

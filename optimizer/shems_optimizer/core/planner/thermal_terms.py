"""Thermal loads (heat pump, electric water heater) as one first-order thermal mass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shems_optimizer.core.model.assets import ThermalLoad
from shems_optimizer.core.planner.context import BuildContext
from shems_optimizer.core.planner.matrix import IntArray
from shems_optimizer.core.timegrid import FloatArray


@dataclass(frozen=True, eq=False)
class ThermalColumns:
    load: ThermalLoad
    power: IntArray
    temperature: IntArray  # °C at the end of each step
    too_cold: IntArray
    too_hot: IntArray
    ambient: FloatArray


@dataclass(frozen=True, eq=False)
class ThermalStep:
    """``T[t] = decay·T[t−1] + gain·P[t] + drift`` — exact for inputs constant over a step."""

    decay: FloatArray
    gain: FloatArray
    drift: FloatArray


def thermal_step(load: ThermalLoad, hours: FloatArray, ambient: FloatArray) -> ThermalStep:
    """Discretise the first-order model exactly, so long steps stay stable (no explicit Euler)."""
    cap, ua = load.heat_capacity_kwh_per_k, load.loss_kw_per_k
    if ua > 0:
        decay = np.exp(-ua * hours / cap)
        gain = (1.0 - decay) * load.cop / ua
        drift = (1.0 - decay) * (ambient - load.draw_kw / ua)
    else:
        decay = np.ones_like(hours)
        gain = load.cop * hours / cap
        drift = -load.draw_kw * hours / cap
    return ThermalStep(decay=decay, gain=gain, drift=drift)


def ambient_for(ctx: BuildContext, load: ThermalLoad) -> FloatArray:
    if load.uses_outdoor_temperature and ctx.series.outdoor_temp_c is not None:
        return np.asarray(ctx.series.outdoor_temp_c, dtype=np.float64)
    return np.full(ctx.steps, load.ambient_c)


def add_thermal(ctx: BuildContext, load: ThermalLoad) -> ThermalColumns:
    m, steps, dt = ctx.model, ctx.steps, ctx.dt
    ambient = ambient_for(ctx, load)
    step = thermal_step(load, dt, ambient)
    power = m.add_cols(f"{load.name}.power", steps, 0.0, load.max_power_kw)
    temperature = m.add_cols(f"{load.name}.temperature", steps, -np.inf, np.inf)
    previous = np.concatenate(([-1], temperature[:-1]))
    decay_prev = step.decay.copy()
    rhs = step.drift.copy()
    rhs[0] += step.decay[0] * load.initial_temp_c
    # T[t] − decay·T[t−1] − gain·P[t] = drift
    m.add_constraints([(temperature, 1.0), (previous, -decay_prev), (power, -step.gain)], rhs, rhs)
    ctx.demand(power)
    comfort = ctx.options.penalties.comfort_eur_per_kelvin_hour * dt
    too_cold = m.add_cols(f"{load.name}.too_cold", steps, 0.0, np.inf, comfort)
    too_hot = m.add_cols(f"{load.name}.too_hot", steps, 0.0, np.inf, comfort)
    m.add_constraints([(temperature, 1.0), (too_cold, 1.0)], load.min_temp_c, np.inf)
    m.add_constraints([(temperature, 1.0), (too_hot, -1.0)], -np.inf, load.max_temp_c)
    return ThermalColumns(
        load=load, power=power, temperature=temperature, too_cold=too_cold, too_hot=too_hot, ambient=ambient
    )

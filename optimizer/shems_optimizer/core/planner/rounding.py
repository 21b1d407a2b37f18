"""Round a relaxed on/off pattern to a feasible one that keeps its energy.

A first incumbent for the MIP is only useful when it is close to the optimum. Rounding each step on
its own (on when the relaxed power reaches the minimum) drops the energy the relaxation spread
thinly over several steps, so the incumbent pays the unmet-goal penalty and the solver learns
nothing from it. These helpers instead pick as many "on" steps as the relaxed energy needs, where
the relaxation put the most power, and honour minimum on/off times with a small dynamic programme.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from shems_optimizer.core.timegrid import FloatArray

BoolArray = npt.NDArray[np.bool_]
TOLERANCE = 1e-6


def steps_needed(power: FloatArray, max_kw: float) -> int:
    """On steps at full power that carry the relaxed energy (kW·steps, rounded up)."""
    if max_kw <= 0:
        return 0
    return int(np.ceil(float(np.sum(power)) / max_kw - 1e-6))


def round_semicontinuous(power: FloatArray, min_kw: float, max_kw: float) -> BoolArray:
    """Steps at or above the minimum stay on; the energy of the fractional steps (below the minimum)
    goes to the headroom of the steps that are on and, for what does not fit there, to as few
    fractional steps as can carry it at full power, the strongest first."""
    on: BoolArray = power >= min_kw - TOLERANCE
    fractional = np.flatnonzero((power > TOLERANCE) & ~on)
    if fractional.size:
        headroom = float(np.sum(max_kw - power[on]))
        spill = max(0.0, float(np.sum(power[fractional])) - headroom)
        extra = min(fractional.size, int(np.ceil(spill / max_kw - 1e-6)) if max_kw > 0 else 0)
        order = fractional[np.argsort(-power[fractional], kind="stable")]
        on[order[:extra]] = True
    return on


def _hold_cap(starts_s: FloatArray, span_s: float) -> int:
    """Steps a state must be held before it may change (the longest over the window), at least 1."""
    if span_s <= 0 or starts_s.size == 0:
        return 1
    first_free = np.searchsorted(starts_s, starts_s + span_s - 1e-6, side="left")
    return int(max(1, int(np.max(first_free - np.arange(starts_s.size)))))


def schedule_with_min_times(
    weights: FloatArray, starts_s: FloatArray, count: int, min_on_s: float, min_off_s: float
) -> BoolArray | None:
    """The on/off pattern with ``count`` on steps (or the fewest above it that is possible) that
    maximises the summed ``weights`` of its on steps, every run lasting ``min_on_s`` and every pause
    ``min_off_s`` (a run may be cut by the window's end; the window starts off and unlocked).

    Exact dynamic programme over (step, on/off, steps held, on steps so far); None if no count from
    ``count`` to the window length is possible.
    """
    steps = weights.size
    if steps == 0 or count <= 0:
        return np.zeros(steps, dtype=bool) if count <= 0 else None
    count = min(count, steps)
    caps = (_hold_cap(starts_s, min_off_s), _hold_cap(starts_s, min_on_s))
    spans = (min_off_s, min_on_s)
    states = [(s, k) for s in (0, 1) for k in range(1, caps[s] + 1)]
    index = {state: i for i, state in enumerate(states)}
    width = steps + 1
    value = np.full((len(states), width), -np.inf)
    value[index[(0, caps[0])], 0] = 0.0
    back = np.zeros((steps, len(states), width), dtype=np.int32)
    for t in range(steps):
        new = np.full((len(states), width), -np.inf)
        for i, (s, k) in enumerate(states):
            row = value[i]
            if not np.isfinite(row).any():
                continue
            moves = [(s, min(k + 1, caps[s]))]
            locked = k < caps[s] and t - k >= 0 and starts_s[t] - starts_s[t - k] < spans[s] - 1e-6
            if not locked:
                moves.append((1 - s, 1))
            for target_state in moves:
                j = index[target_state]
                if target_state[0] == 1:
                    candidate = np.concatenate(([-np.inf], row[:-1] + weights[t]))
                else:
                    candidate = row
                better = candidate > new[j]
                new[j] = np.where(better, candidate, new[j])
                back[t, j] = np.where(better, i, back[t, j])
        value = new
    best_count = next((c for c in range(count, width) if np.isfinite(value[:, c]).any()), None)
    if best_count is None:
        return None
    state = int(np.argmax(value[:, best_count]))
    on = np.zeros(steps, dtype=bool)
    c = best_count
    for t in range(steps - 1, -1, -1):
        previous = int(back[t, state, c])
        if states[state][0] == 1:
            on[t] = True
            c -= 1
        state = previous
    return on

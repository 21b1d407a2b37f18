"""Backtests on measured data: rolling-origin forecast accuracy and closed-loop MPC savings.

- :mod:`.inputs` loads the site (the planner's site file plus a ``backtest`` section) and the measured
  series, and fills the gaps the simulation cannot skip;
- :mod:`.suite` retrains the forecasters on a schedule and forecasts from any origin (past data only);
- :mod:`.evaluation` scores forecasts against naive baselines;
- :mod:`.simulate` runs the strategies (no battery, self-consumption rule, MPC, perfect foresight)
  through the same local controller the add-on uses;
- :mod:`.run` ties them together into the JSON report of ``shems-optimizer backtest``.
"""

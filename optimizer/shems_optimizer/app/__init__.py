"""Application: what the service does, in terms of the core, with the outside world behind ports.

One package per concern: the site a person describes (``site``), the plan in force and the runs
that replace it (``planning``), what a run reads (``inputs``), registered devices (``devices``),
commands and plan execution (``execution``), figures for people (``reporting``), backtests
(``backtest``), the records every store keeps (``records``) and the service's typed configuration
(``config``, which names the planner's solver). The back-ends (store, MQTT, Home
Assistant) live in ``adapters`` and are handed in by the wiring.
"""

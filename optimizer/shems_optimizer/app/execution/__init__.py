"""Execution: device commands with acknowledgements, and the plan executor that follows the plan.

Where a command goes (``routes``), its life from pending to acked (``commands``), the typed plan the
executor follows (``execution_plan``) and the executor itself (``plan_executor``). The transports are
adapters: MQTT in ``adapters/mqtt``, Home Assistant service calls in ``adapters/homeassistant``.
"""

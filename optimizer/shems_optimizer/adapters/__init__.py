"""Adapters: the engine's links to the outside world, each behind what the application asks of it.

``store`` (SQLite and TimescaleDB), ``ingest`` (telemetry from MQTT and Home Assistant into the
store), ``mqtt`` (the client, the command protocol, retained plans), ``homeassistant`` (REST state
reads, service calls, the live planning inputs) and ``metrics`` (Prometheus).
"""

"""Dispatch: device commands over MQTT and Home Assistant, plan publishing and execution."""

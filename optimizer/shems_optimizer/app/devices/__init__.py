"""Registered devices: what the service knows of each device and its latest state."""

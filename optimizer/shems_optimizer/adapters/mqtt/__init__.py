"""MQTT: one client for the service, the device command protocol and the retained plan topics."""

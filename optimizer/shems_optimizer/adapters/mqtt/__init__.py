"""MQTT: one client for the service and the retained plan topics.

The device command protocol the client carries is the application's (``app/execution/protocol.py``).
"""
